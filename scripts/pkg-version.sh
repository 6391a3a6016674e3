#!/bin/sh
# pkg-version.sh DESCRIBE: the Debian/RPM package version of a build whose
# "git describe --tags --always --dirty" is DESCRIBE (docs/packaging.md).
#
#   v1.2.3                 -> 1.2.3
#   v1.2.3-4-gabc1234      -> 1.2.3+4.gabc1234     (after the tag, before the next)
#   v1.3.0-rc1             -> 1.3.0~rc1            (a pre-release sorts before its release)
#   3ae9024 (no tag)       -> 0.0.0~git3ae9024     (below every release)
#   any of them + -dirty   -> the same + ~dirty    (never above the clean build)
#
# Both dpkg and rpm (4.10+) sort "~" before anything, even the end of the
# string; "-" is not allowed in an RPM version.
set -eu
v=${1:?usage: pkg-version.sh GIT-DESCRIBE}
dirty=
case $v in *-dirty) v=${v%-dirty}; dirty='~dirty' ;; esac
case $v in
  v[0-9]*|[0-9]*.[0-9]*)
    v=${v#v}
    # "-N-gHASH": N commits after the tag.
    after=$(printf '%s\n' "$v" | sed -nE 's/.*-([0-9]+)-g([0-9a-f]+)$/+\1.g\2/p')
    [ -z "$after" ] || v=$(printf '%s\n' "$v" | sed -E 's/-[0-9]+-g[0-9a-f]+$//')
    # What is left after the release number is a pre-release ("-rc1").
    v=$(printf '%s\n' "$v" | sed -E 's/-/~/; s/-/./g')
    v=$v$after
    ;;
  *)
    # An untagged build: the commit, or "dev" outside git.
    v=0.0.0~git$(printf '%s\n' "$v" | sed -E 's/[^A-Za-z0-9.]+/./g')
    ;;
esac
printf '%s%s\n' "$v" "$dirty"
