// Package vault keeps every secret of docker-credential-anchore and anchored
// in one encrypted file: an age file (scrypt passphrase recipient) holding a
// versioned JSON document. docs/vault-format.md specifies both; the standard
// age tool decrypts the file with the passphrase alone.
//
// The package knows nothing of HTTP or Docker. It promises:
//
//   - the file is only ever replaced whole (temp file, fsync, rename, fsync of
//     the directory), so a crash leaves the old vault or the new one;
//   - every change is a read-modify-write under an exclusive flock on a lock
//     file beside the vault, so concurrent writers in any number of processes
//     lose no update; a writer re-decrypts only when the file's age header
//     differs from the one it last saw, and every write costs one scrypt
//     under a fresh salt;
//   - a vault is never created over an existing one (link(2) publish);
//   - the age header is inspected before any scrypt runs, and a work factor
//     above MaxWorkFactor is refused, so a hostile file cannot make us burn
//     CPU and memory;
//   - a file or directory with any group or other permission is refused, as
//     ssh refuses such keys;
//   - a document written by a newer format version is neither opened nor
//     rewritten, and members of the current version that this build does not
//     know survive a rewrite (Document's Extra fields).
//
// The exported error values are the compatibility surface: callers branch on
// them with errors.Is. Every error Open, Update and Rekey return reads as one
// line naming the file and what to do, and never contains a secret.
package vault
