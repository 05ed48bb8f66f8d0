/**
 * @module plugins/threat-protection/xml-scanner
 * A byte scanner of an XML body as it streams, for `xml: { maxDepth, maxSize, doctype }`:
 * it follows only markup (tags, quoted attribute values, comments, CDATA, processing
 * instructions) to know the element depth, and refuses a DOCTYPE, the door to entity
 * expansion ("billion laughs") and external entities. Like the JSON scanner it is no
 * parser: the upstream still parses what passes.
 */
import { GatehouseError } from "../../errors.ts";

/** The limits of one XML body. */
export interface XmlLimits {
  maxDepth: number;
  maxSize: number;
  /** Whether a `<!DOCTYPE …>` (or any `<!` declaration) is let through. */
  doctype: boolean;
}

/** A body refused at a limit; the metric's rule is `xml-<limit>`. */
export class XmlLimitError extends GatehouseError {
  readonly limit: "maxDepth" | "maxSize" | "doctype";

  constructor(limit: XmlLimitError["limit"], value = 0) {
    super(
      "GATEHOUSE_THREAT_XML_LIMIT",
      limit === "doctype"
        ? "The XML body declares a DOCTYPE, which the route does not accept"
        : `The XML body passes the route's ${limit} (${value})`,
    );
    this.limit = limit;
  }
}

// Where the scanner is: between tags, or inside one kind of markup.
const TEXT = 0;
const LT = 1; // just after "<"
const OPEN = 2; // in a start tag
const CLOSE = 3; // in an end tag
const BANG = 4; // just after "<!"
const COMMENT = 5;
const CDATA = 6;
const PI = 7;
const DECLARATION = 8; // a DOCTYPE let through: skipped to its ">", internal subset included

/** Scans one body; `write` each chunk, then `end`. Throws a GatehouseError when refused. */
export class XmlScanner {
  readonly #limits: XmlLimits;
  #state = TEXT;
  #depth = 0;
  #size = 0;
  /** In a start tag: the quote an attribute value is in (0: none). */
  #quote = 0;
  /** The byte before this one, inside markup (to see "/>", "-->", "]]>", "?>"). */
  #previous = 0;
  #beforePrevious = 0;
  /** In a let-through DOCTYPE: how deep in `[` … `]` of its internal subset. */
  #subset = 0;

  constructor(limits: XmlLimits) {
    this.#limits = limits;
  }

  write(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#limits.maxSize) {
      throw new XmlLimitError("maxSize", this.#limits.maxSize);
    }
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.#state) {
        case TEXT:
          if (b === 0x3c) this.#state = LT;
          break;
        case LT:
          if (b === 0x2f) this.#state = CLOSE;
          else if (b === 0x21) this.#state = BANG;
          else if (b === 0x3f) this.#state = PI;
          else this.#open();
          break;
        case OPEN:
          this.#inStartTag(b);
          break;
        case CLOSE:
          if (b === 0x3e) this.#close();
          break;
        case BANG:
          if (b === 0x2d) this.#state = COMMENT;
          else if (b === 0x5b) this.#state = CDATA;
          else this.#declaration();
          break;
        case COMMENT:
          if (b === 0x3e && this.#previous === 0x2d && this.#beforePrevious === 0x2d)
            this.#state = TEXT;
          break;
        case CDATA:
          if (b === 0x3e && this.#previous === 0x5d && this.#beforePrevious === 0x5d)
            this.#state = TEXT;
          break;
        case PI:
          if (b === 0x3e && this.#previous === 0x3f) this.#state = TEXT;
          break;
        case DECLARATION:
          if (b === 0x5b) this.#subset++;
          else if (b === 0x5d) this.#subset--;
          else if (b === 0x3e && this.#subset <= 0) this.#state = TEXT;
          break;
      }
      this.#beforePrevious = this.#previous;
      this.#previous = b;
    }
  }

  /** The body ended: it must not stop inside markup or an open element. */
  end(): void {
    if (this.#state !== TEXT || this.#depth > 0) {
      throw new GatehouseError("GATEHOUSE_THREAT_XML_LIMIT", "The XML body ends inside an element");
    }
  }

  #open(): void {
    if (++this.#depth > this.#limits.maxDepth) {
      throw new XmlLimitError("maxDepth", this.#limits.maxDepth);
    }
    this.#state = OPEN;
    this.#quote = 0;
  }

  #inStartTag(b: number): void {
    if (this.#quote !== 0) {
      if (b === this.#quote) this.#quote = 0;
    } else if (b === 0x22 || b === 0x27) this.#quote = b;
    else if (b === 0x3e) {
      // "<a/>" opens and closes at once.
      if (this.#previous === 0x2f) this.#depth--;
      this.#state = TEXT;
    }
  }

  #close(): void {
    this.#depth--;
    this.#state = TEXT;
  }

  #declaration(): void {
    if (!this.#limits.doctype) {
      throw new XmlLimitError("doctype");
    }
    this.#state = DECLARATION;
    this.#subset = 0;
  }
}
