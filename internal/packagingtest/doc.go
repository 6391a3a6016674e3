// Package packagingtest holds the tests of what a user installs: the
// systemd units, "make install", the .deb and .rpm of "make package", the
// man pages and completions generated from the command trees, and README's
// quick start. It has no code of its own; its tests drive make and the
// system's packaging tools (systemd-analyze, dpkg-deb, rpm) as a packager
// would.
package packagingtest
