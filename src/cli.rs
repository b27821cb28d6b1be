//! Command-line definitions only (clap); `config` turns them into typed values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::classify::UnknownUpload;
use crate::report::Format;

#[derive(Parser, Debug)]
#[command(
    name = "certsweep",
    version,
    about = "Find, classify and replace TLS certificates whose private keys were exposed in a breach",
    long_about = "certsweep inventories uploaded certificates and classifies each against a breach's \
cutoff date: exposed (uploaded before the cutoff and still valid), key-reused, unknown-upload, \
revoked, expired or not-affected.\n\nExit codes: 0 nothing needs action and every input was read; \
1 something needs action; 2 the run was incomplete (an input failed) or a usage error.",
    after_help = "Example: certsweep scan --manifest fixtures/demo/manifest.json --cutoff 2016-11-01"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Reference time for validity (YYYY-MM-DD or RFC 3339) [default: the system clock]
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
    /// Output format [default: table]
    #[arg(long, global = true, value_enum, value_name = "F")]
    pub format: Option<Format>,
    /// Write the report to FILE (atomically: a temporary file renamed into place) instead of stdout
    #[arg(long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour in the table output (auto: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print no data, only errors; the exit code tells the result
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Bytes read from one input at most (file, stdin, inline PEM), e.g. 64MiB [default: 1GiB]
    #[arg(long, global = true, value_name = "SIZE", value_parser = crate::inventory::limits::parse_size)]
    pub max_input_size: Option<u64>,
    /// Certificates kept from one input at most (a PEM file, PKCS#7 bundle, PKCS#12 file,
    /// stdin); the rest is skipped with an error record [default: 100000]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_certs_per_input: Option<u64>,
    /// Key-derivation iterations all PKCS#12 files and encrypted keys of the run may cost
    /// together [default: 100000000]
    #[arg(long, global = true, value_name = "N")]
    pub p12_iteration_budget: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inventory certificates and classify each against the exposure cutoff
    Scan(ScanArgs),
    /// Show every field of every certificate in the given files
    Inspect(InspectArgs),
    /// Replacement CSRs with brand-new keys, one or in bulk
    Csr(CsrArgs),
    /// What live TLS endpoints serve, and whether it is an exposed certificate or key
    Probe(ProbeArgs),
    /// Walk each exposed certificate through upload-new-then-revoke-old
    Rotate(RotateArgs),
    /// App installations set up before the cutoff whose settings hold credentials
    Apps(AppsArgs),
    /// OAuth and API tokens created before the cutoff and still active (from the vendor's API)
    #[command(
        after_help = "Example: certsweep credentials --zendesk acme --cutoff 2016-11-01 (with \
ZENDESK_EMAIL and ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN, in the environment)"
    )]
    Credentials(CredentialsArgs),
    /// Add up scan summaries (counts add, complete is AND, action_required is OR): the reduce step of a distributed scan
    Merge(MergeArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per subcommand with --dir
    Man {
        /// Write certsweep.1 and one page per subcommand (certsweep-scan.1, …) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// What to read and how to classify it: shared by `scan`, `csr` and later `rotate`.
#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Certificate files or directories (recursive); `-` reads stdin
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// JSON or CSV manifest of uploads: id, file|pem, uploaded_at, host, account (repeatable)
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// The breach cutoff: material uploaded before it may have been read (e.g. 2016-11-01)
    #[arg(long, value_name = "DATE")]
    pub cutoff: Option<String>,
    /// Upload time for every PATH given on the command line
    #[arg(long, value_name = "DATE")]
    pub uploaded_at: Option<String>,
    /// How to treat certificates with no upload date issued before the cutoff
    #[arg(long, value_enum, default_value_t = UnknownUpload::Review, value_name = "HOW")]
    pub unknown_upload: UnknownUpload,
    /// CRL (PEM or DER) listing revoked certificates; its signature must verify (repeatable)
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Extra CA certificates, used to check CRL signatures (repeatable)
    #[arg(long, value_name = "FILE")]
    pub roots: Vec<PathBuf>,
    /// Accept a --cutoff later than --now (normally a typo: nothing can be uploaded in the future)
    #[arg(long)]
    pub allow_future_cutoff: bool,
    /// Read exposed public-key hashes (e.g. another team's export) into the key-reuse check
    #[arg(long, value_name = "FILE")]
    pub exposed_keys: Vec<PathBuf>,
    /// Passphrase for encrypted private keys (ENCRYPTED PRIVATE KEY): the first line of FILE
    /// [default: the environment variable CERTSWEEP_KEY_PASSPHRASE]
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,
    /// PKCS#12 (.p12/.pfx) password: the first line of FILE [default: the environment
    /// variable CERTSWEEP_P12_PASSWORD, else the empty password]
    #[arg(long, value_name = "FILE")]
    pub p12_password_file: Option<PathBuf>,
    /// Refused: secrets on the command line leak into shell history and `ps`
    #[arg(long, hide = true, value_name = "SECRET")]
    pub p12_password: Option<String>,
    /// Refuse manifest `file` paths outside the manifest's folder (absolute, or climbing
    /// out with `..`); without it they are read with a warning
    #[arg(long)]
    pub confined_paths: bool,
    /// Ask each certificate's OCSP responder (its AIA URL, http:// only) whether it is
    /// revoked; the issuing CA must be in the inventory or --roots
    #[arg(long)]
    pub online: bool,
    /// Seconds each OCSP request may take (--online)
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub online_timeout: u64,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Without --cutoff: certificates expiring within this many days are `expiring`
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub expiring_within: u32,
    /// Without --cutoff: expired certificates need no action (exit 0 if nothing else does)
    #[arg(long)]
    pub ignore_expired: bool,
    /// Write the SHA-256 of every exposed public key to FILE (one per line)
    #[arg(long, value_name = "FILE")]
    pub export_exposed_keys: Option<PathBuf>,
    /// Constant memory in the number of certificates: judge each upload (file, manifest entry,
    /// or NDJSON line) on its own and write NDJSON records as they are judged
    #[arg(
        long,
        long_help = "Constant memory in the number of certificates: each upload unit (a file, a \
manifest entry, or one line of NDJSON on stdin or in a .ndjson/.jsonl file: {\"id\", \"der_b64\"|\"pem\", \
\"uploaded_at\", \"host\", \"account\"}) is loaded, judged and written as an NDJSON record, then \
forgotten. With --cutoff, a first pass keeps the SHA-256 of every exposed key (32 bytes each; \
stdin is copied to a temporary file for it), unless --exposed-keys gives that set (the \
broadcast side of a join). Reduced against the in-memory scan: the same certificate uploaded \
twice is two records (no cross-upload dedup); shares_key_with and private_key_found_in list \
only the same upload and the exposed-key set; a CA certificate whose key is only in another \
upload stays chain; errors are written where they occur; --crl and --roots are refused. \
Needs --format ndjson."
    )]
    pub stream: bool,
    /// Write only the summary (an NDJSON summary line, or with --format json one object);
    /// `certsweep merge` adds such summaries up
    #[arg(long)]
    pub summary_only: bool,
    /// With --stream and --cutoff: stop after the first pass and write the exposed-key set
    /// (one SHA-256 per line): the build side of a distributed join, given to the map step
    /// with --exposed-keys
    #[arg(long, requires = "stream")]
    pub exposed_keys_only: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Summaries to add up: NDJSON scan output (its `summary` lines), `--summary-only` output,
    /// or JSON reports; `-` reads stdin
    #[arg(value_name = "SUMMARY", required = true)]
    pub summaries: Vec<PathBuf>,
}

/// Key types for new keys; RSA via aws-lc-rs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    #[value(name = "ed25519")]
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
    #[value(name = "rsa-4096")]
    Rsa4096,
}

impl KeyType {
    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }
}

#[derive(Args, Debug)]
pub struct CsrArgs {
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// One old certificate to replace (for a bundle, its leaf); repeatable
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// A `scan --format json` report: a CSR for every record whose action is `replace`
    #[arg(long, value_name = "FILE")]
    pub from_report: Option<PathBuf>,
    /// Type of the NEW key
    #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256, value_name = "TYPE")]
    pub key_type: KeyType,
    /// Folder for the CSR and key files (created if missing)
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Only the certificate(s) with this manifest id, host, DNS name or CN
    #[arg(long, value_name = "ITEM|HOST")]
    pub only: Option<String>,
    /// Add a DNS name to the CSR (repeatable; one certificate per run: see --only)
    #[arg(long, value_name = "NAME")]
    pub add_dns: Vec<String>,
    /// Drop a DNS name of the old certificate from the CSR (repeatable; one certificate per
    /// run: see --only)
    #[arg(long, value_name = "NAME")]
    pub drop_dns: Vec<String>,
    /// Replace the subject (RFC 4514, e.g. 'CN=www.example.com,O=Example,C=GB'; one
    /// certificate per run: see --only)
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// Encrypt each new key (PKCS#8, PBES2 AES-256-CBC) with a passphrase from
    /// --passphrase-file or the environment variable CERTSWEEP_KEY_PASSPHRASE
    #[arg(long)]
    pub encrypt_key: bool,
    /// File whose first line is the key passphrase
    #[arg(long, value_name = "FILE", requires = "encrypt_key")]
    pub passphrase_file: Option<PathBuf>,
    /// Refused: secrets on the command line leak into shell history and `ps`
    #[arg(long, hide = true, value_name = "SECRET")]
    pub passphrase: Option<String>,
}

/// `probe`: the inventory options are `scan`'s, except that inventory PATHs are given with
/// `--inventory` (the positional arguments are the targets) and `--roots` also replaces the
/// system trust store.
#[derive(Args, Debug)]
#[command(
    mut_arg("paths", |a| a
        .long("inventory")
        .value_name("PATH")
        .help("Inventory files or directories (as scan's PATHs), to judge what is served; repeatable")),
    mut_arg("roots", |a| a
        .help("Trusted CA certificates (PEM) for verifying served chains, instead of the system store; also used for CRLs")),
)]
pub struct ProbeArgs {
    /// Endpoints: HOST, HOST:PORT, IPv4:PORT, [IPv6]:PORT or https://HOST[:PORT]/PATH (port
    /// 443 by default)
    #[arg(value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,
    /// File of targets: one HOST[:PORT] (or https:// URL) [SNI] per line (# comments), or
    /// CSV/JSON with host, port, sni
    #[arg(long = "targets", value_name = "FILE")]
    pub targets_file: Vec<PathBuf>,
    /// Server name to send (SNI) and verify [default: the host; none for an IP address]
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Seconds to wait for the TCP connection
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub connect_timeout: f64,
    /// Seconds for the whole target: resolve, connect, handshake
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Targets probed at once
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
    /// Also a finding (status `verify-failed`, exit 1): a served chain that does not verify
    /// for the name, even when the certificate is in the inventory
    #[arg(long)]
    pub strict: bool,
    /// Speak this protocol's plaintext prelude before the handshake: smtp, imap, pop3, ftp,
    /// ldap, postgres, mysql, xmpp, or none [default: by port: 25/587 smtp, 143 imap, 110
    /// pop3, 21 ftp, 389 ldap, 5432 postgres, 3306 mysql, 5222 xmpp; other ports none]
    #[arg(long, value_name = "PROTO")]
    pub starttls: Option<String>,
    /// Ask whether each served leaf is revoked: its stapled OCSP response if the server sent
    /// one, else the OCSP responder the certificate names (plain http:// only; no other URL
    /// is contacted). A revoked certificate is a finding; an unanswered question, exit 2
    #[arg(long)]
    pub check_revocation: bool,
    #[command(flatten)]
    pub inventory: InventoryArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Certificate files (PEM, DER, PKCS#7, PKCS#12); `-` reads stdin
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// PKCS#12 (.p12/.pfx) password: the first line of FILE [default: the environment
    /// variable CERTSWEEP_P12_PASSWORD, else the empty password]
    #[arg(long, value_name = "FILE")]
    pub p12_password_file: Option<PathBuf>,
    /// Refused: secrets on the command line leak into shell history and `ps`
    #[arg(long, hide = true, value_name = "SECRET")]
    pub p12_password: Option<String>,
}

#[derive(Args, Debug)]
pub struct AppsArgs {
    /// The vendor's app-installation list (JSON); several pages as several files
    #[arg(
        value_name = "INSTALLATIONS.json",
        required_unless_present = "zendesk",
        conflicts_with = "zendesk"
    )]
    pub files: Vec<PathBuf>,
    /// The breach cutoff: installations created before it had their settings exposed
    #[arg(long, value_name = "DATE", required = true)]
    pub cutoff: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Reading from the vendor's API (`apps --zendesk`, `credentials`). Credentials come from the
/// environment or `--auth-file`, never from the command line.
#[derive(Args, Debug)]
pub struct ApiArgs {
    /// Fetch from the account's API: its subdomain (acme → https://acme.zendesk.com) or URL;
    /// credentials from ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN
    #[arg(long, value_name = "SUBDOMAIN|URL")]
    pub zendesk: Option<String>,
    /// File of NAME=value lines (ZENDESK_EMAIL, ZENDESK_API_TOKEN, ZENDESK_OAUTH_TOKEN),
    /// instead of the environment
    #[arg(long, value_name = "FILE", requires = "zendesk")]
    pub auth_file: Option<PathBuf>,
    /// Trusted CA certificates (PEM) for the API server, instead of the system store
    #[arg(long, value_name = "FILE", requires = "zendesk")]
    pub roots: Vec<PathBuf>,
    /// Seconds for one request, connect to last byte
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Pages of one list fetched at most (more: the audit is incomplete)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_pages: usize,
    /// Largest page accepted (a response, or an installations file), in MiB (larger: the
    /// audit is incomplete); a page parses to about 10 times its size in memory
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub max_page_mib: u64,
    /// Keep every fetched page in DIR (credential values masked), as evidence
    #[arg(long, value_name = "DIR", requires = "zendesk")]
    pub save_raw: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(mut_arg("zendesk", |a| a.required(true)))]
pub struct CredentialsArgs {
    /// The breach cutoff: tokens created before it may have been exposed
    #[arg(long, value_name = "DATE", required = true)]
    pub cutoff: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The rotation plan (JSON); created by `rotate init`
    #[arg(
        long,
        global = true,
        default_value = "certsweep-rotation.json",
        value_name = "FILE"
    )]
    pub state: PathBuf,
    /// Seconds to wait for another certsweep working on the same plan
    #[arg(long, global = true, default_value_t = 10, value_name = "SECS")]
    pub lock_timeout: u64,
    #[command(subcommand)]
    pub command: RotateCommand,
}

#[derive(Subcommand, Debug)]
pub enum RotateCommand {
    /// Make (or extend) the plan: one item per certificate that must be replaced
    Init(InventoryArgs),
    /// Every item, its step, its age and what blocks it (exit 0 all done, 1 work remains)
    Status,
    /// The next action for each item, as an exact command
    Next {
        /// Compromise date to give the CA [default: the plan's cutoff]
        #[arg(long, value_name = "DATE")]
        compromised_at: Option<String>,
        /// An ACME CA's directory URL: show the `rotate issue` / `rotate revoke` commands for
        /// it [default: the directory an item's certificate was issued through]
        #[arg(long, value_name = "URL")]
        acme_directory: Option<String>,
    },
    /// New key + CSR for an item (as `certsweep csr`), recording the key path and new SPKI
    Csr(RotateCsrArgs),
    /// Check and record the certificate the CA issued for an item's CSR
    Import {
        item: String,
        /// The issued certificate (PEM or DER)
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Intermediate certificates (repeatable)
        #[arg(long, value_name = "FILE")]
        chain: Vec<PathBuf>,
        /// Trust anchors: a file or a folder of PEM/DER certificates (repeatable)
        /// [default: the system store]
        #[arg(long, value_name = "FILE|DIR")]
        roots: Vec<PathBuf>,
    },
    /// Record that the new certificate was uploaded (and check an endpoint serves it)
    Uploaded(EndpointArgs),
    /// Check again that an endpoint serves the new certificate
    Verify(EndpointArgs),
    /// Record the old certificate's revocation (refused until verified, unless --force)
    Revoked {
        item: String,
        /// A CRL from the old issuer that must list the old serial
        #[arg(long, value_name = "FILE")]
        crl: Vec<PathBuf>,
        /// The old issuer's certificate, to check the CRL's or OCSP answer's signature
        /// (repeatable)
        #[arg(long, value_name = "FILE")]
        issuer: Vec<PathBuf>,
        /// Confirm with the old certificate's OCSP responder (its AIA URL) instead of a CRL;
        /// needs --issuer
        #[arg(long, conflicts_with = "crl", requires = "issuer")]
        ocsp: bool,
        /// Seconds the OCSP request may take
        #[arg(long, default_value_t = 10, value_name = "SECS", requires = "ocsp")]
        ocsp_timeout: u64,
        /// Record the revocation although the new certificate is not verified as served
        #[arg(long, requires = "reason")]
        force: bool,
        /// Why --force was needed (kept in the item's history)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Get the certificate for an item's CSR from an ACME CA, then check it as `import` does
    Issue(RotateIssueArgs),
    /// Ask an ACME CA to revoke the old certificate (keyCompromise), signed by the old key
    Revoke(RotateRevokeArgs),
    /// An interactive guide over the same steps (needs a terminal); `s` skips an item
    Walk {
        /// Trust anchors for the import and endpoint checks: a file or a folder of PEM/DER
        /// certificates (repeatable) [default: the system store]
        #[arg(long, value_name = "FILE|DIR")]
        roots: Vec<PathBuf>,
        #[command(flatten)]
        acme: WalkAcmeArgs,
    },
}

#[derive(Args, Debug)]
pub struct RotateCsrArgs {
    /// The item (id or unique prefix); or --all
    pub item: Option<String>,
    /// Every item still waiting for a CSR
    #[arg(long, conflicts_with = "item")]
    pub all: bool,
    /// Type of the NEW key
    #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256, value_name = "TYPE")]
    pub key_type: KeyType,
    /// Folder for CSR and key files [default: `rotation-csrs` beside the plan]
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Encrypt the new keys (passphrase from --passphrase-file or CERTSWEEP_KEY_PASSPHRASE)
    #[arg(long)]
    pub encrypt_key: bool,
    /// File whose first line is the key passphrase
    #[arg(long, value_name = "FILE", requires = "encrypt_key")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EndpointArgs {
    pub item: String,
    /// HOST:PORT that should now serve the new certificate
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,
    /// Server name to send, and the name the served chain must verify for [default: the host]
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Seconds for the whole check
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
    /// Trust anchors the served chain must verify against: a file or a folder of PEM/DER
    /// certificates (repeatable) [default: the system store]
    #[arg(long, value_name = "FILE|DIR")]
    pub roots: Vec<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("challenge").required(true).multiple(false)))]
pub struct RotateIssueArgs {
    /// The item (id or unique prefix); or --all
    pub item: Option<String>,
    /// Every item whose CSR is waiting for the CA
    #[arg(long, conflicts_with = "item")]
    pub all: bool,
    #[command(flatten)]
    pub acme: AcmeArgs,
    /// EAB key id the CA gave (with --eab-hmac-file), for a CA that requires it
    #[arg(long, value_name = "ID", requires = "eab_hmac_file")]
    pub eab_kid: Option<String>,
    /// File holding the EAB HMAC key (base64url) the CA gave
    #[arg(long, value_name = "FILE", requires = "eab_kid")]
    pub eab_hmac_file: Option<PathBuf>,
    /// Answer http-01 by writing files under DIR/.well-known/acme-challenge/
    #[arg(long, value_name = "DIR", group = "challenge")]
    pub http01_webroot: Option<PathBuf>,
    /// Answer http-01 with a built-in HTTP listener on ADDR (e.g. 0.0.0.0:80)
    #[arg(long, value_name = "ADDR", group = "challenge")]
    pub http01_listen: Option<String>,
    /// Answer dns-01 with `sh -c CMD`, given CERTSWEEP_ACME_ACTION (present|cleanup),
    /// CERTSWEEP_ACME_DOMAIN, CERTSWEEP_ACME_TXT_NAME and CERTSWEEP_ACME_TXT_VALUE
    #[arg(long, value_name = "CMD", group = "challenge")]
    pub dns01_hook: Option<String>,
    /// Print each http-01 answer (a file to serve) and wait for a line on stdin once it is
    /// served; with --format json|ndjson each answer is one JSON line on stderr
    #[arg(long, group = "challenge")]
    pub manual: bool,
    /// Like --manual, with dns-01: print each TXT record to publish and wait for a line on
    /// stdin once it is visible
    #[arg(long, group = "challenge")]
    pub manual_dns01: bool,
    /// Trust anchors the issued chain must verify against: a file or a folder of PEM/DER
    /// certificates (repeatable) [default: the system store]
    #[arg(long, value_name = "FILE|DIR")]
    pub roots: Vec<PathBuf>,
    /// Seconds the CA may take to validate and issue
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub wait: u64,
}

#[derive(Args, Debug)]
pub struct RotateRevokeArgs {
    /// The item (id or unique prefix); or --all (every verified item)
    pub item: Option<String>,
    /// Every verified item
    #[arg(long, conflicts_with_all = ["item", "force"])]
    pub all: bool,
    #[command(flatten)]
    pub acme: AcmeArgs,
    /// The OLD certificate's private key (repeatable: each item uses the one that matches)
    #[arg(long, value_name = "FILE", required_unless_present = "with_account")]
    pub old_key: Vec<PathBuf>,
    /// Sign with the ACME account key instead (when the old key is gone)
    #[arg(long, conflicts_with = "old_key")]
    pub with_account: bool,
    /// Revoke although the new certificate is not verified as served
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why --force was needed (kept in the item's history)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct AcmeArgs {
    /// The CA's ACME directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory)
    #[arg(long, value_name = "URL")]
    pub acme_directory: String,
    /// Trust anchors for the ACME server's own TLS certificate (repeatable) [default: the
    /// system store]
    #[arg(long, value_name = "FILE")]
    pub acme_roots: Vec<PathBuf>,
    /// The ACME account file (0600) [default: acme-account-HOST.json beside the plan]
    #[arg(long, value_name = "FILE")]
    pub acme_account: Option<PathBuf>,
    /// Seconds for each request to the ACME server
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

/// `rotate walk` with an ACME CA: it offers `rotate issue` and `rotate revoke`.
#[derive(Args, Debug)]
pub struct WalkAcmeArgs {
    /// The CA's ACME directory URL: the walk offers to issue and to revoke through it
    #[arg(long, value_name = "URL")]
    pub acme_directory: Option<String>,
    /// Trust anchors for the ACME server's TLS certificate (repeatable)
    #[arg(long, value_name = "FILE", requires = "acme_directory")]
    pub acme_roots: Vec<PathBuf>,
    /// The ACME account file [default: acme-account-HOST.json beside the plan]
    #[arg(long, value_name = "FILE", requires = "acme_directory")]
    pub acme_account: Option<PathBuf>,
    /// Answer http-01 by writing files under DIR/.well-known/acme-challenge/
    #[arg(long, value_name = "DIR", requires = "acme_directory", conflicts_with_all = ["http01_listen", "dns01_hook"])]
    pub http01_webroot: Option<PathBuf>,
    /// Answer http-01 with a built-in HTTP listener on ADDR
    #[arg(
        long,
        value_name = "ADDR",
        requires = "acme_directory",
        conflicts_with = "dns01_hook"
    )]
    pub http01_listen: Option<String>,
    /// Answer dns-01 with `sh -c CMD` (see `rotate issue --help`)
    #[arg(long, value_name = "CMD", requires = "acme_directory")]
    pub dns01_hook: Option<String>,
}
