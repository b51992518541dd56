#!/bin/sh
# Writes l2tpvpnd.conf(5) from the shipped, commented configuration file, so the manual page and the file a user
# edits say the same thing: every [section] becomes a subsection, every `key = default` an entry, and the comment
# lines above a key its description.
#
# usage: packaging/conf-man.sh etc/l2tpvpn/l2tpvpnd.conf VERSION [OUTPUT]     (default output: stdout)
set -eu
CONF=$1 VERSION=$2
if [ -n "${3:-}" ]; then exec >"$3"; fi
cat <<EOF2
.TH L2TPVPND.CONF 5 "December 2026" "l2tpvpn $VERSION" "File Formats"
.SH NAME
l2tpvpnd.conf \\- configuration of the l2tpvpn server
.SH SYNOPSIS
.I /etc/l2tpvpn/l2tpvpnd.conf
.SH DESCRIPTION
The configuration of
.BR l2tpvpnd (8),
in INI form: \\fB[section]\\fP headers, \\fIkey\\fP \\fB=\\fP \\fIvalue\\fP lines, and comments from \\fB#\\fP to
the end of the line. Each entry shows the value the shipped file sets. Every key is validated when the daemon starts
(and by \\fBl2tpvpnd \\-\\-check\\-config\\fP); an error stops start-up with a message that names the file, the line
and the key. \\fBSIGHUP\\fP (\\fBsystemctl reload l2tpvpn\\fP) reloads the file; settings that need a restart are
named in the log.
EOF2
awk '
  function roff(s) {
    gsub(/\\/, "\\e", s)
    sub(/^[.'"'"']/, "\\\\\\&&", s)
    return s
  }
  /^# / && !seen_section { next }                 # the file header: said above
  /^\[.*\]$/ { seen_section = 1; printf ".SS %s\n", $0; text = ""; next }
  /^#/ { line = $0; sub(/^# ?/, "", line); text = text roff(line) "\n"; next }
  /^[a-z_]+ *=/ {
    key = $0; sub(/ *=.*/, "", key)
    val = $0; sub(/^[^=]*= */, "", val)
    printf ".TP\n.B %s\n", key
    printf "Shipped: %s\n", (val == "" ? "empty" : "\\fI" roff(val) "\\fP")
    if (text != "") printf ".br\n%s", text
    text = ""
    next
  }
  /^$/ { text = "" }
' "$CONF"
cat <<'EOF2'
.SH FILES
.TP
.I /etc/l2tpvpn/l2tpvpnd.conf
This file.
.SH SEE ALSO
.BR l2tpvpnd (8),
.BR l2tpvpnctl (8)
EOF2
