"""Hard cases shared by the security tests: reader URLs and spreadsheet formula look-alikes.

One corpus per rule, so every path that applies the rule is tested against the same inputs.
"""

# URLs a reader may send that must never be stored or rendered as a link.
HOSTILE_URLS = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\x00javascript:alert(1)",
    "\x01\x02javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&colon;alert(1)",
    "&#106;avascript:alert(1)",
    "%6Aavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://files.example.com/x",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example\\",
    "https:\\\\evil.example",
    "https:/\\evil.example",
    "http:evil.example",
    "https:///path-only",
    "https://",
    "https://user:pass@news.example.com/",
    "https://news.example.com@evil.example/",
    "https://news.example.com/story\x00",
    "https://news.example.com/\u202eevil",
    "https://news.example.com/\u200b",
    "https://news.example.com/ story",
    "https://news.example.com:99999/",
    "https://[not-an-ip/",
    "\ufeffhttps://news.example.com/",
    " https://news.example.com/",
    "https://news.example.com/" + "a" * 3000,
    "about:blank",
    "",
]

# URLs a reader's browser really sends (location.href, document.referrer): kept as they are.
FRIENDLY_URLS = [
    "https://news.example.com/story",
    "http://news.example.com/2026/12/01/a-story?utm_source=x&y=%22#section-2",
    "HTTPS://News.Example.com/Story",
    "https://news.example.com:8443/story?q=caf%C3%A9",
    "https://xn--caf-dma.example/story",
    "https://café.example/story",
    "https://127.0.0.1:8000/demo/",
    "https://[2001:db8::1]/story",
]

# Text a reader may type that a spreadsheet could read as a formula (or as a link it follows).
FORMULA_TEXTS = [
    '=HYPERLINK("http://evil.example","x")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "   =cmd|' /C calc'!A0",
    "\u3000=1+1",  # ideographic space
    "\u00a0=1+1",  # no-break space
    "\u200b=1+1",  # zero-width space
    "\ufeff=1+1",  # byte order mark
    "\u200b\ufeff =1+1",
    "\uff1d1+1",  # full-width =
    "\uff0b1+1",  # full-width +
    "\uff0d1+1",  # full-width -
    "\uff20SUM(1)",  # full-width @
    "\ufe661+1",  # small-form =
    "\ufe621+1",  # small-form +
    "\ufe631+1",  # small-form -
    "\ufe6bSUM(1)",  # small-form @
    '=DDE("cmd";"/C calc";"x")',
]
