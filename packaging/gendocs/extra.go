package main

// The sections of the man pages that no command tree knows. Keep them in
// step with SPEC sections 1 to 6 and README.md.

// passphraseSection is the one list of passphrase sources, in the order
// internal/passphrase and config.ResolvePaths apply it (README.md has the
// same list); both pages carry it.
const passphraseSection = `.SH PASSPHRASE
The vault passphrase comes from the first of these that is set:
.IP 1. 4
\-\-passphrase\-file FILE;
.IP 2. 4
ANCHORE_VAULT_PASSPHRASE_FILE=FILE;
.IP 3. 4
ANCHORE_VAULT_PASSPHRASE (the passphrase itself);
.IP 4. 4
passphrase_file: FILE in the config file (~/.config/anchore/config.yaml,
ANCHORE_CONFIG or \-\-config);
.IP 5. 4
$CREDENTIALS_DIRECTORY/vault\-passphrase (a systemd credential);
.IP 6. 4
for docker\-credential\-anchore's management commands only, a prompt on the
terminal.
.PP
A passphrase file's one trailing newline is dropped.
`

const helperSynopsis = `docker-credential-anchore get|store|erase|list|version < input
docker-credential-anchore [global options] command [options] [arguments...]`

const helperExtra = `
.SH DOCKER PROTOCOL
Docker, buildx, crane, skopeo and podman run
.B docker\-credential\-anchore
with one action and data on standard input:
.TP
.B get
a server URL in; {"ServerURL","Username","Secret"} out.
Nothing stored: exactly "credentials not found in native keychain", exit 1.
.TP
.B store
{"ServerURL","Username","Secret"} in; creates the vault when none exists and a passphrase is available.
.TP
.B erase
a server URL in; removes exactly that entry; erasing what is not there succeeds.
.TP
.B list
a JSON object of server URL to user name; never a secret.
.TP
.B version
the version.
.PP
Point Docker at the helper with
.B docker\-credential\-anchore configure\-docker
("credsStore": "anchore") or, for some registries only,
.B configure\-docker \-\-registry HOST
(credHelpers entries). Podman, skopeo and buildah never read credsStore:
.B configure\-docker \-\-containers
writes the registries.conf.d drop-in they read
(credential\-helpers = ["anchore", "containers\-auth.json"]), in
~/.config/containers/registries.conf.d/50\-anchore.conf, or with
.B \-\-system
in /etc/containers/registries.conf.d/50\-anchore.conf.
The kubelet's image credential provider over the same entries is
.BR anchore\-credential\-provider .
The helper asks the running
.BR anchored (8)
on its socket when it answers, and opens the vault itself otherwise.
.SH ENVIRONMENT
.TP
.B ANCHORE_CONFIG
config file (default $XDG_CONFIG_HOME/anchore/config.yaml).
.TP
.B ANCHORE_VAULT
vault file (default $XDG_DATA_HOME/anchore/vault).
.TP
.B ANCHORED_SOCKET
daemon socket (default $XDG_RUNTIME_DIR/anchored.sock; the system service's is /run/anchored/anchored.sock).
.TP
.B ANCHORE_VAULT_PASSPHRASE_FILE
file holding the vault passphrase (one trailing newline is dropped).
.TP
.B ANCHORE_VAULT_PASSPHRASE
the vault passphrase itself.
.TP
.B DOCKER_CONFIG
where configure\-docker writes config.json (default ~/.docker).
.PP
Flags win over the environment, the environment over the config file, the
config file over the defaults.
` + passphraseSection + `.PP
Only a source that lasts (4, or a running
.BR anchored (8))
lets a new shell's
.B get
find the passphrase; without one it answers not\-found and pulls go
anonymous. vault init says so when its passphrase came from elsewhere.
.SH FILES
.TP
.I ~/.config/anchore/config.yaml
configuration, the schema anchored reads (see anchored(8)).
.TP
.I ~/.local/share/anchore/vault
the vault: an age file (scrypt passphrase), mode 0600 in a 0700 directory.
The standard age tool decrypts it with the passphrase.
.TP
.I ~/.docker/config.json
Docker's configuration, where configure\-docker sets credsStore or credHelpers.
.TP
.I ~/.config/containers/registries.conf.d/50\-anchore.conf
the drop-in configure\-docker \-\-containers writes for podman, skopeo and buildah.
.SH EXIT STATUS
.TP
.B 0
done.
.TP
.B 1
the operation failed: not found, rejected, validation failed, already exists.
The protocol actions exit 1 with the message on standard output, as Docker expects.
.TP
.B 2
it could not start: usage, an unknown command, configuration, or the vault
cannot be opened (locked, missing, wrong passphrase, damaged, permissions
too open, written by a newer version).
.SH EXAMPLES
.EX
docker\-credential\-anchore vault init
docker\-credential\-anchore registry add registry.example.com:5000 alice \-\-password\-stdin < pw.txt
docker\-credential\-anchore registry add 123456789012.dkr.ecr.us\-east\-1.amazonaws.com AKIA... SECRET \-\-registry\-type awsecr
docker\-credential\-anchore registry list
docker\-credential\-anchore configure\-docker
docker\-credential\-anchore configure\-docker \-\-containers
.EE
.SH SEE ALSO
.BR anchored (8),
.BR age (1),
.BR systemd.exec (5)
`

const anchoredExtra = `
.SH DESCRIPTION
.B anchored
keeps the vault of
.BR docker\-credential\-anchore (1)
unlocked and serves the Anchore Engine v1 authentication API: HTTP Basic,
OAuth2 password\-grant bearer tokens (JWT) at /v1/oauth/token, accounts,
users and registry credentials. It listens on a Unix socket by default, and
on HTTPS, or plain HTTP on loopback only, when configured. It tells systemd
when it is ready and accepts a socket passed by socket activation.
.SH SYSTEMD
The system service
.B anchored.service
runs as user and group anchored with
.B \-\-config /etc/anchored/config.yaml
and socket activation by
.B anchored.socket
(/run/anchored/anchored.sock, mode 0660, group anchored). Its vault is
/var/lib/anchored/vault; its passphrase is the systemd credential
vault\-passphrase, loaded from /etc/anchored/vault\-passphrase (mode 0600,
root), or with LoadCredentialEncrypted= from a file made by
systemd\-creds encrypt.
.PP
.EX
systemctl enable \-\-now anchored.socket
usermod \-aG anchored alice
.EE
.PP
A per\-user daemon runs with
.B systemctl \-\-user enable \-\-now anchored.socket
on $XDG_RUNTIME_DIR/anchored.sock, mode 0600, with the passphrase in
~/.config/anchore/vault\-passphrase.
.SH SECURITY
Whoever may connect to the socket may ask for the registry credentials of
the helper account (helper_account, default admin) without a password: the
service's own user, root, and, when the socket is 0660, members of its group.
The daemon checks every connection's peer (SO_PEERCRED). Every other route
needs Basic or Bearer authentication, on the socket as over TCP.
.SH ENVIRONMENT
.TP
.B ANCHORE_CONFIG, ANCHORE_VAULT, ANCHORED_SOCKET, ANCHORE_VAULT_PASSPHRASE_FILE, ANCHORE_VAULT_PASSPHRASE
as for
.BR docker\-credential\-anchore (1).
.TP
.B CREDENTIALS_DIRECTORY
set by systemd; the passphrase is read from its vault\-passphrase file.
.TP
.B ANCHORE_AUTH_SECRET, ANCHORE_AUTH_PUBKEY, ANCHORE_AUTH_PRIVKEY
the token signing secret, or the paths of a key pair.
.TP
.B ANCHORE_OAUTH_ENABLED, ANCHORE_OAUTH_TOKEN_EXPIRATION, ANCHORE_AUTH_ENABLE_HASHED_PASSWORDS
override user_authentication.
.TP
.B ANCHORE_ADMIN_PASSWORD
overrides default_admin_password.
` + passphraseSection + `.PP
anchored never prompts: with none of 1 to 5 it refuses to start.
.SH FILES
.TP
.I /etc/anchored/config.yaml
the system service's configuration (Anchore's key names; an unknown key stops the daemon).
.TP
.I /etc/anchored/vault\-passphrase
the system vault's passphrase, loaded as a systemd credential.
.TP
.I /var/lib/anchored/vault
the system service's vault.
.TP
.I /run/anchored/anchored.sock
the system service's socket.
.SH SIGNALS
.TP
.B SIGTERM, SIGINT
stop cleanly: listeners close, requests in flight finish.
.TP
.B SIGHUP
reload (systemctl reload anchored): the configuration is read and checked again;
any problem refuses the reload, each logged, and the running configuration stays.
Otherwise the TLS certificate and key are loaded again (new connections get the
new certificate, none is dropped) and the audit settings applied (the audit file
reopened, for logrotate); other changed keys take effect at the next restart.
.SH EXIT STATUS
.TP
.B 0
stopped cleanly (SIGTERM or SIGINT: requests in flight finish first).
.TP
.B 2
refused to start: a configuration error (unknown key, hashed_passwords without
OAuth, a key pair that does not match, http on a non\-loopback address, https
without certificate and key) or a vault that cannot be opened.
.SH SEE ALSO
.BR docker\-credential\-anchore (1),
.BR systemd.socket (5),
.BR systemd\-creds (1),
.BR age (1)
`
