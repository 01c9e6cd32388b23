#!/usr/bin/env python3
"""man_pages.py DUMP_HELP_JSON IN_DIR OUT_DIR: the man pages swift-argument-parser's
generate-manual plugin wrote (IN_DIR/tproxy-dns[.sub[.sub]].8), made fit for a Debian package
(scripts/package.sh), gzipped into OUT_DIR:

- only pages of commands a user sees: hidden ones (the benchmark helpers, shouldDisplay false
  in `tproxy-dns --experimental-dump-help`) and the built-in `help` are left out;
- the NAME section names the page as its file does (`tproxy-dns.cache`), so man-db's whatis
  (lexgrog) can index it; the synopsis still shows the command as typed (`tproxy-dns cache`);
- blank lines in descriptions become paragraph breaks (.Pp): mdoc has no blank lines.
Prints each page written."""
import gzip
import json
import os
import sys


def visible_pages(command, path):
    """File stems of the commands shown in --help, e.g. tproxy-dns.cache.stats."""
    if command.get("shouldDisplay", True) is False or command["commandName"] == "help":
        return []
    stems = [".".join(path)]
    for sub in command.get("subcommands", []):
        stems += visible_pages(sub, path + [sub["commandName"]])
    return stems


def fixed(text, stem):
    lines, out, in_name = text.split("\n"), [], False
    typed = stem.replace(".", " ")
    for line in lines:
        if line.startswith(".Sh "):
            in_name = line == ".Sh NAME"
        if in_name and line.startswith(".Nm"):
            line = f".Nm {stem}"
        elif line == ".Nm" and " " in typed:
            line = f'.Nm "{typed}"'
        elif line.strip() == "":
            line = ".Pp"
        out.append(line)
    while out and out[-1] == ".Pp":
        out.pop()
    return "\n".join(out) + "\n"


def main():
    dump, source, target = sys.argv[1:4]
    root = json.load(open(dump))["command"]
    os.makedirs(target, exist_ok=True)
    for stem in visible_pages(root, [root["commandName"]]):
        text = open(os.path.join(source, stem + ".8")).read()
        page = os.path.join(target, stem + ".8.gz")
        # mtime 0: the same pages give the same bytes (reproducible, as gzip -n).
        with open(page, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
            out.write(fixed(text, stem).encode())
        print(page)


if __name__ == "__main__":
    main()
