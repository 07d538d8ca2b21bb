#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The manuals against the programs' --help (for manuals_test.sh).

  xg_manuals.py BUILD_DIR [MAN_DIR]

xdpgate(8): its OPTIONS section documents exactly the global options of
`xdpgate --help`; its COMMANDS section has one .SS per subcommand of
`xdpgate --help` (named by the heading's first word) and no other; under each,
the .TP items document exactly the options of `xdpgate SUB --help` (but
-h/--help, documented once in OPTIONS), and the text names every operand
(ID, RANGE, ...); its EXIT STATUS items are the statuses the --help footer
lists. xdpgated(8): its OPTIONS section documents exactly the options of
`xdpgated --help`.

An option is documented by a .TP item whose tag (the line after .TP) names
it. Prints "ok - ..." or "not ok - ..." per check; exits 1 if any failed.
"""
import re
import subprocess
import sys

failures = 0


def check(ok, what, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failures += 1
        for line in detail.splitlines():
            print("#   " + line)


def run_help(argv):
    out = subprocess.run(argv + ["--help"], capture_output=True, text=True,
                         timeout=10)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} --help exited {out.returncode}: "
                         f"{out.stderr}")
    return out.stdout


def help_sections(text):
    """CLI11's help as {section title: [its indented lines]}."""
    sections, current = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z]*:$", line):
            current = sections.setdefault(line[:-1], [])
        elif not line.strip() or not line.startswith("  "):
            current = None if not line.strip() else current
        elif current is not None:
            current.append(line)
    return sections


def help_options(text):
    """Every flag of the Options section: {"-h", "--help", "--socket", ...}."""
    flags = set()
    for line in help_sections(text).get("Options", []):
        spec = line.split()[0]
        if not line.startswith("   ") and spec.startswith("-"):
            flags.update(spec.split(","))
    return flags


def help_first_words(text, section):
    return [line.split()[0] for line in help_sections(text).get(section, [])
            if not line.startswith("   ")]


def plain(roff):
    """A roff line's text: font escapes dropped, \\- as -, quotes gone."""
    text = re.sub(r"\\f(\[[^]]*\]|.)", "", roff)
    text = text.replace("\\-", "-").replace("\\(dq", '"').replace("\\&", "")
    return text.replace('"', " ")


def man_sections(path):
    """{SH title: [(line number, line)]} of a manual's source."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(".SH "):
                current = sections.setdefault(line[4:].strip('"'), [])
            elif current is not None:
                current.append((number, line))
    return sections


def subsections(lines):
    """[(first word of the .SS heading, its lines)]."""
    out = []
    for number, line in lines:
        if line.startswith(".SS "):
            out.append((plain(line[4:]).split()[0], []))
        elif out:
            out[-1][1].append((number, line))
    return out


FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def tagged_flags(lines):
    """The flags the .TP items' tags name."""
    flags, tag_next = set(), False
    for _, line in lines:
        if line == ".TP":
            tag_next = True
        elif tag_next:
            tag_next = False
            flags.update(FLAG.findall(plain(line)))
    return flags


def tag_words(lines):
    words, tag_next = [], False
    for _, line in lines:
        if line == ".TP":
            tag_next = True
        elif tag_next:
            tag_next = False
            words.extend(plain(line).replace(".B ", " ").split())
    return words


def same(what, documented, actual, manual):
    missing = sorted(actual - documented)
    extra = sorted(documented - actual)
    detail = ""
    if missing:
        detail += f"{manual} lacks: {' '.join(missing)}\n"
    if extra:
        detail += f"{manual} documents what the program lacks: {' '.join(extra)}"
    check(not missing and not extra, what, detail)


def check_cli(build, man_dir):
    manual = f"{man_dir}/xdpgate.8"
    cli = f"{build}/xdpgate"
    top = run_help([cli])
    sections = man_sections(manual)
    for needed in ("OPTIONS", "COMMANDS", "EXIT STATUS"):
        if needed not in sections:
            check(False, f"{manual} has a section {needed}")
            return

    same("xdpgate(8) OPTIONS: the global options of xdpgate --help",
         tagged_flags(sections["OPTIONS"]), help_options(top), manual)

    commands = help_first_words(top, "Subcommands")
    check(len(commands) > 0, "xdpgate --help lists subcommands")
    documented = dict(subsections(sections["COMMANDS"]))
    same("xdpgate(8) COMMANDS: one .SS per subcommand of xdpgate --help",
         set(documented), set(commands), manual)

    for command in commands:
        if command not in documented:
            continue
        text = run_help([cli, command])
        lines = documented[command]
        same(f"xdpgate(8) {command}: the options of xdpgate {command} --help",
             tagged_flags(lines), help_options(text) - {"-h", "--help"},
             manual)
        body = " ".join(plain(line) for _, line in lines)
        for operand in help_first_words(text, "Positionals"):
            check(re.search(rf"\b{re.escape(operand)}\b", body) is not None,
                  f"xdpgate(8) {command}: names the operand {operand}")

    footer = re.search(r"Exit status:(.*?)\.", top, re.S)
    check(footer is not None, "xdpgate --help states the exit statuses")
    if footer:
        statuses = set(re.findall(r"\b(\d+) [a-z]", footer.group(1)))
        same("xdpgate(8) EXIT STATUS: the statuses xdpgate --help states",
             set(tag_words(sections["EXIT STATUS"])), statuses, manual)


def check_daemon(build, man_dir):
    manual = f"{man_dir}/xdpgated.8"
    text = run_help([f"{build}/xdpgated"])
    sections = man_sections(manual)
    if "OPTIONS" not in sections:
        check(False, f"{manual} has a section OPTIONS")
        return
    check(len(help_options(text)) > 2, "xdpgated --help lists options")
    same("xdpgated(8) OPTIONS: the options of xdpgated --help",
         tagged_flags(sections["OPTIONS"]), help_options(text), manual)


def main():
    build = sys.argv[1]
    man_dir = sys.argv[2] if len(sys.argv) > 2 else "scripts/man"
    check_cli(build, man_dir)
    check_daemon(build, man_dir)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
