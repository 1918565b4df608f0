#!/bin/sh
# Installs Jython 2.7 (Debian package) for the compile gate when it is missing and this
# machine can: as root with apt-get. Elsewhere it says what is missing and carries on.
command -v jython >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "jython: installing the Debian package (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jython) >/tmp/ensure-jython.log 2>&1 \
    || { echo "jython: apt-get install failed (see /tmp/ensure-jython.log)"; exit 0; }
fi
exit 0
