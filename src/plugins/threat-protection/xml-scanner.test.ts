// The XML scanner: element depth counted through attributes (quoted ">" and "/"), empty
// elements, comments, CDATA and processing instructions, whatever the chunking; a DOCTYPE
// refused unless let through (and then skipped, internal subset included); size bounded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGatehouseError } from "../../errors.ts";
import { XmlLimitError, type XmlLimits, XmlScanner } from "./xml-scanner.ts";

const limits: XmlLimits = { maxDepth: 3, maxSize: 500, doctype: false };

/** What refused `text` sent in chunks of `size` bytes: a limit, another message, or none. */
function refusal(text: string, size = 1, of = limits): string | undefined {
  const scanner = new XmlScanner(of);
  const bytes = Buffer.from(text);
  try {
    for (let i = 0; i < bytes.length; i += size) scanner.write(bytes.subarray(i, i + size));
    scanner.end();
    return undefined;
  } catch (error) {
    assert.ok(isGatehouseError(error, "GATEHOUSE_THREAT_XML_LIMIT"));
    return error instanceof XmlLimitError ? error.limit : error.message;
  }
}

describe("XmlScanner", () => {
  it("lets XML within the limits through, whatever the chunking", () => {
    const text = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<!-- <deep><deeper><deepest><x> -->",
      '<order id="1" note="a > b / c" other=\'<x>\'>',
      "<item sku='A-1'/><item sku=\"B-2\" />",
      "<note><![CDATA[<a><b><c><d></d></c></b></a>]]></note>",
      "<?pi <a><b><c><d> ?>",
      "</order>",
    ].join("\n");
    for (const size of [1, 3, 1000]) assert.equal(refusal(text, size), undefined, `${size}`);
  });

  it("refuses past maxDepth, at the element that passes it", () => {
    assert.equal(refusal("<a><b><c></c></b></a>"), undefined);
    assert.equal(refusal("<a><b><c><d/></c></b></a>"), "maxDepth");
    assert.equal(refusal("<a/><b/><c/><d/><e/>"), undefined);
  });

  it("refuses a DOCTYPE: entity expansion never reaches the upstream", () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>';
    assert.equal(refusal(laughs), "doctype");
    assert.equal(refusal(laughs, 1, { ...limits, doctype: true }), undefined);
  });

  it("refuses past maxSize, and a body that ends inside an element", () => {
    assert.equal(refusal(`<a>${"x".repeat(600)}</a>`, 100), "maxSize");
    assert.match(refusal("<a><b></b>") ?? "", /ends inside an element/);
    assert.match(refusal('<a b="unclosed>') ?? "", /ends inside an element/);
  });
});
