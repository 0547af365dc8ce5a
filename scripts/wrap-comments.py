#!/usr/bin/env python3
"""Re-wraps `//` and `///` comment lines longer than 120 columns (swift-format leaves comments alone).

The overflow of a long line moves to the start of the next line of the same comment paragraph, which is wrapped in
turn; at the end of a paragraph it becomes a new line with the same prefix. Used once when the formatter was adopted
and kept for new long comments (`make format`; `make lint` runs it with `--check`).
"""
import re
import sys

LIMIT = 120
COMMENT = re.compile(r'^(\s*)(///?)( ?)(.*)$')


def prefix_of(line):
    m = COMMENT.match(line)
    if not m:
        return None
    return m.group(1) + m.group(2) + ' ', m.group(4)


def continues(text):
    """A line that continues a paragraph (not empty, not a list item, not a code fence or DocC field)."""
    stripped = text.strip()
    return bool(stripped) and not re.match(r'^([-*+] |\d+\. |```|- [A-Z][a-z]+:|MARK:)', stripped)


def wrap(lines):
    out = list(lines)
    i = 0
    while i < len(out):
        line = out[i].rstrip('\n')
        parsed = prefix_of(line)
        if parsed is None or len(line) <= LIMIT:
            i += 1
            continue
        prefix, text = parsed
        room = LIMIT - len(prefix)
        cut = text.rfind(' ', 0, room + 1)
        if cut <= 0:
            i += 1
            continue  # one unbreakable word (a URL): leave it
        head, rest = text[:cut].rstrip(), text[cut + 1:].lstrip()
        out[i] = prefix + head + '\n'
        nxt = prefix_of(out[i + 1].rstrip('\n')) if i + 1 < len(out) else None
        if nxt is not None and nxt[0] == prefix and continues(nxt[1]) and '`' not in rest[-1:]:
            out[i + 1] = prefix + rest + ' ' + nxt[1].lstrip() + '\n'
        else:
            # A list item's continuation is indented under its text.
            item = re.match(r'^([-*+] |\d+\. )', text)
            indent = ' ' * len(item.group(1)) if item else ''
            out.insert(i + 1, prefix + indent + rest + '\n')
        i += 1
    return out


check = '--check' in sys.argv[1:]
unwrapped = []
for path in [arg for arg in sys.argv[1:] if arg != '--check']:
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    wrapped = wrap(lines)
    if wrapped != lines:
        if check:
            unwrapped.append(path)
        else:
            with open(path, 'w', encoding='utf-8') as f:
                f.writelines(wrapped)
if unwrapped:
    print('comments longer than 120 columns (run make format):\n  ' + '\n  '.join(unwrapped), file=sys.stderr)
    sys.exit(1)
