/**
 * @module plugins/threat-protection/rules
 * The attack patterns, by category, each with a stable id (the metric's `rule` label). They
 * are written against what ordinary API traffic carries (apostrophes in names, SQL words in
 * prose, Markdown, file names, URLs): each needs the syntax of an attack, not its words. The
 * corpus in test/fixtures/threat-corpus measures how well that holds.
 */

/** The categories of patterns, as named in the config. */
export const threatCategories = ["sqli", "xss", "traversal", "command"] as const;
export type ThreatCategory = (typeof threatCategories)[number];

export interface ThreatRule {
  id: string;
  category: ThreatCategory;
  pattern: RegExp;
  /**
   * Characters of which every match has at least one (empty: none is needed): a value with
   * none of them is not tested against the pattern, which spares most values most rules.
   */
  needs: string;
}

const rule = (
  id: string,
  category: ThreatCategory,
  needs: string,
  pattern: RegExp,
): ThreatRule => ({
  id,
  category,
  pattern,
  needs,
});

const quote = `['"\`]`;
// Not a backtick or a newline: Markdown puts commands in those (`ls -la`, code blocks).
const shellStart = String.raw`(?:[;&|]|\$\()\s*`;

export const threatRules: readonly ThreatRule[] = [
  // SQL injection: a quote closed and a clause added, a comment ending the value, a second
  // statement, or the functions and catalogues only an injection asks for.
  rule(
    "sqli-union-select",
    "sqli",
    "uU",
    /\bunion(?:\s+all|\s+distinct)?(?:\s|\/\*.*?\*\/)*\(?\s*select\b/i,
  ),
  rule(
    "sqli-tautology",
    "sqli",
    "'\"`=",
    new RegExp(
      String.raw`${quote}\s*\)?\s*(?:or|and|xor|\|\||&&)\s+(?:\(?\s*${quote}?[\w-]*${quote}?\s*(?:=|<>|!=|<=|>=|<|>|\blike\b|\bis\b)|\d+\b|true\b|not\b)|\b(?:or|and)\s+\(?\d+\)?\s*=\s*\(?\d+\b`,
      "i",
    ),
  ),
  rule("sqli-order-by", "sqli", "-#/", /\border\s+by\s+\d+\s*(?:--|#|\/\*)/i),
  rule(
    "sqli-comment",
    "sqli",
    "'\"`",
    new RegExp(String.raw`${quote}\s*\)?\s*;?\s*(?:--[\s-]*|#\s*|\/\*.*)$`),
  ),
  rule(
    "sqli-stacked-query",
    "sqli",
    ";'\"`",
    new RegExp(
      String.raw`(?:;|${quote}\s*;?)\s*(?:drop\s+(?:table|database|schema|view|index)|delete\s+from|insert\s+into|update\s+\w+\s+set|truncate\s+table|alter\s+table|create\s+(?:table|user|database)|exec(?:ute)?\s+(?:xp_|sp_|master)|shutdown\b|declare\s+@)`,
      "i",
    ),
  ),
  rule(
    "sqli-function",
    "sqli",
    "('@",
    /\b(?:sleep|pg_sleep|benchmark)\(\s*\d|\bwaitfor\s+delay\s+'|\b(?:load_file|extractvalue|updatexml|utl_inaddr\.get_host_address|dbms_pipe\.receive_message)\s*\(|\bselect\s+(?:@@\w+|(?:user|version|database|current_user)\(\))/i,
  ),
  rule(
    "sqli-catalog",
    "sqli",
    "_.yY",
    /\binformation_schema\b|\bsys(?:objects|columns|users)\b|\bpg_catalog\b|\bmysql\.user\b|\bsqlite_master\b/i,
  ),
  // Cross-site scripting: markup that runs script, not markup as such.
  rule("xss-script-tag", "xss", "<", /<\s*\/?\s*script\b/i),
  rule(
    "xss-event-handler",
    "xss",
    "=",
    /<[a-z!/][^>]*?[\s/"'`]on[a-z]{3,20}\s*=|["'`]\s*on(?:error|load|mouse\w+|focus|blur|click|toggle|animation\w+|pointer\w+|key\w+|begin)\s*=/i,
  ),
  rule(
    "xss-script-uri",
    "xss",
    ":",
    /(?:^|[\s"'`=(<])(?:javascript|vbscript|livescript)\s*:(?!\s)|data:text\/html/i,
  ),
  rule(
    "xss-embed-tag",
    "xss",
    "<",
    /<\s*(?:object|embed|applet|base|frameset)\b|<\s*meta\b[^>]*http-equiv|<\s*iframe\b[^>]*\b(?:srcdoc|src\s*=\s*["']?\s*(?:javascript|data):)/i,
  ),
  rule(
    "xss-script-call",
    "xss",
    "(`.",
    /\b(?:alert|prompt|confirm|eval)(?:\((?:\d|["'`]|document|window|\w+\.)|`)|\bdocument\s*\.\s*(?:cookie|domain|write)\b|\bwindow\s*\.\s*location\b|\bString\.fromCharCode\s*\(/i,
  ),
  // Path traversal: climbing out of a folder, encoded or not, or reaching for the files
  // an attacker wants.
  rule("traversal-dot-dot", "traversal", ".", /(?:^|[\\/=])\.\.;?(?:[\\/]|$)/),
  rule(
    "traversal-encoded",
    "traversal",
    "%.",
    /(?:%(?:25)?2e|\.){2}(?:%(?:25)?2f|%(?:25)?5c|%c0%af|%c1%9c)|%c0%ae|%u002e/i,
  ),
  rule(
    "traversal-sensitive-file",
    "traversal",
    "/.",
    /\/etc\/(?:passwd|shadow|group)\b|\/proc\/self\/|\bboot\.ini\b|\bwin\.ini\b|\.htpasswd\b|WEB-INF\/web\.xml|\.git\/config\b/i,
  ),
  rule("traversal-null-byte", "traversal", "\0", /\0/),
  // Command injection: a shell separator, then a command with the arguments of an attack.
  rule(
    "command-chained",
    "command",
    ";&|$",
    new RegExp(
      String.raw`${shellStart}(?:whoami|uname|wget|curl|netcat|ncat|nc|bash|zsh|sh|powershell|ifconfig|ipconfig|nslookup|telnet)\b(?:\s|$|[;|\x60)])|${shellStart}(?:python[23]?|perl|ruby|php)\s+-[a-z]\b`,
      "i",
    ),
  ),
  rule(
    "command-with-arguments",
    "command",
    ";&|$",
    new RegExp(
      String.raw`${shellStart}(?:cat|ls|id|ping|echo|sleep|rm|chmod|kill|type|dir|head|tail)\s+(?:-[a-z]|\/|\.\.?\/|\$|~|%|\d+(?:\.\d+){0,3}\s*(?:$|[;&|\x60)]))|${shellStart}id\s*(?:$|[;&|\x60)])`,
      "i",
    ),
  ),
  rule(
    "command-substitution",
    "command",
    "$`",
    /\$\(\s*(?:whoami|id|uname|cat|ls|curl|wget|sleep|ping|echo|bash|sh|nc)\b[^)]*\)|`(?:whoami|id|uname(?:\s+-a)?|cat\s+\/\S+|sleep\s+\d+|ping\s+-[cn]\s*\d+[^`]*)`|\$\{IFS\}|\$IFS\b/i,
  ),
  rule(
    "command-shell-path",
    "command",
    "/",
    /\/dev\/(?:tcp|udp)\/|\/(?:usr\/)?s?bin\/(?:(?:ba|z|da)?sh|ls|id|cat|whoami|uname|nc|netcat|curl|wget)\b|\bcmd(?:\.exe)?\s+\/c\b/i,
  ),
];

/**
 * The attack tools that name themselves in User-Agent: the list is of scanners and
 * brute-forcers only, never of crawlers or HTTP libraries, so a match is no real user.
 */
export const badBotNames = [
  "sqlmap",
  "nikto",
  "nmap",
  "masscan",
  "zgrab",
  "acunetix",
  "nessus",
  "openvas",
  "wpscan",
  "dirbuster",
  "gobuster",
  "feroxbuster",
  "ffuf",
  "nuclei",
  "havij",
  "w3af",
  "arachni",
  "skipfish",
  "wfuzz",
  "commix",
  "xsstrike",
  "netsparker",
  "jaeles",
  "hydra",
  "zmeu",
  "dirb",
  "joomscan",
  "whatweb",
  "fimap",
] as const;
