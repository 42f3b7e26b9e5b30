//! The configuration file as serde reads it: kebab-case keys, unknown keys
//! rejected, spans kept where validation needs to point at a value.

use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConfig {
    pub(crate) global: RawGlobal,
    #[serde(default, rename = "peer")]
    pub(crate) peers: Vec<Spanned<RawPeer>>,
    #[serde(default, rename = "template")]
    pub(crate) templates: Vec<Spanned<RawTemplate>>,
    #[serde(default, rename = "route")]
    pub(crate) routes: Vec<Spanned<RawRoute>>,
    #[serde(default, rename = "rpki-cache")]
    pub(crate) rpki_caches: Vec<Spanned<RawRpkiCache>>,
}

/// `mrt-dump = { file = "...", interval = N }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawMrtDump {
    pub(crate) file: String,
    pub(crate) interval: u32,
}

/// `[[rpki-cache]]`: an RPKI-to-Router cache (RFC 8210) to take validated
/// ROA payloads from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRpkiCache {
    pub(crate) address: IpAddr,
    pub(crate) port: Option<u16>,
    /// Seconds between connection attempts.
    pub(crate) retry: Option<Spanned<u32>>,
    /// Seconds the cache's data is kept after the last good exchange.
    pub(crate) expire: Option<Spanned<u32>>,
}

/// `[global]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawGlobal {
    pub(crate) router_id: Spanned<std::net::Ipv4Addr>,
    pub(crate) local_as: Spanned<u32>,
    pub(crate) cluster_id: Option<std::net::Ipv4Addr>,
    #[serde(default)]
    pub(crate) listen: Vec<IpAddr>,
    pub(crate) port: Option<u16>,
    pub(crate) workers: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) io_backend: IoBackend,
    pub(crate) control_socket: Option<std::path::PathBuf>,
    /// Address and port to serve OpenMetrics on (`GET /metrics`).
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
    /// Periodic MRT table dumps.
    pub(crate) mrt_dump: Option<Spanned<RawMrtDump>>,
    /// Policy files (docs/POLICY.md), relative to the config file's folder.
    pub(crate) policy_files: Option<Spanned<Vec<std::path::PathBuf>>>,
}

/// Session parameters shared by static peers and templates, as validation
/// sees them.
#[derive(Debug)]
pub(crate) struct RawSession {
    pub(crate) role: Role,
    pub(crate) families: Vec<Family>,
    pub(crate) hold_time: Option<Spanned<u16>>,
    pub(crate) keepalive: Option<Spanned<u16>>,
    pub(crate) connect_retry: Option<u16>,
    pub(crate) refresh_stale_time: Option<Spanned<u16>>,
    pub(crate) passive: bool,
    pub(crate) local_address: Option<IpAddr>,
    pub(crate) import: Vec<String>,
    pub(crate) export: Vec<String>,
    pub(crate) allowed_prefixes: Vec<Spanned<String>>,
    pub(crate) max_prefix: Option<MaxPrefixConfig>,
    pub(crate) description: Option<String>,
    pub(crate) add_path: AddPathMode,
    pub(crate) graceful_restart: bool,
    pub(crate) interpret_communities: Option<bool>,
    pub(crate) auth: RawAuth,
}

/// The authentication keys of a peer or template (see `crate::auth`).
#[derive(Debug, Default)]
pub(crate) struct RawAuth {
    pub(crate) password: Option<Spanned<RawSecret>>,
    pub(crate) password_file: Option<Spanned<std::path::PathBuf>>,
    pub(crate) password_env: Option<Spanned<String>>,
    pub(crate) tcp_ao: Option<Spanned<RawTcpAo>>,
    pub(crate) ttl_security: Option<Spanned<u8>>,
}

/// A secret written in the file; `Debug` does not show it.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct RawSecret(pub(crate) String);

impl std::fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `tcp-ao = { keys = [...], current = ID, rnext = ID }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTcpAo {
    pub(crate) keys: Vec<RawAoKey>,
    pub(crate) current: Option<u8>,
    pub(crate) rnext: Option<u8>,
}

/// One TCP-AO key: `{ send-id, recv-id, algorithm, secret | secret-file |
/// secret-env, valid-from?, valid-until? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAoKey {
    pub(crate) send_id: u8,
    pub(crate) recv_id: u8,
    pub(crate) algorithm: String,
    pub(crate) secret: Option<RawSecret>,
    pub(crate) secret_file: Option<std::path::PathBuf>,
    pub(crate) secret_env: Option<String>,
    pub(crate) valid_from: Option<toml::value::Datetime>,
    pub(crate) valid_until: Option<toml::value::Datetime>,
}

const fn yes() -> bool {
    true
}

/// Declares a table type with its own keys plus the session keys, flat (serde's
/// `flatten` would lose spans and `deny_unknown_fields`), and its
/// `into_parts()` splitting off a [`RawSession`].
macro_rules! with_session_keys {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(crate) struct $name {
            $($(#[$fm])* pub(crate) $field: $ty,)*
            role: Role,
            #[serde(default)]
            families: Vec<Family>,
            hold_time: Option<Spanned<u16>>,
            keepalive: Option<Spanned<u16>>,
            connect_retry: Option<u16>,
            refresh_stale_time: Option<Spanned<u16>>,
            #[serde(default)]
            passive: bool,
            local_address: Option<IpAddr>,
            #[serde(default)]
            import: Vec<String>,
            #[serde(default)]
            export: Vec<String>,
            #[serde(default)]
            allowed_prefixes: Vec<Spanned<String>>,
            max_prefix: Option<MaxPrefixConfig>,
            description: Option<String>,
            #[serde(default)]
            add_path: AddPathMode,
            #[serde(default = "yes")]
            graceful_restart: bool,
            interpret_communities: Option<bool>,
            password: Option<Spanned<RawSecret>>,
            password_file: Option<Spanned<std::path::PathBuf>>,
            password_env: Option<Spanned<String>>,
            tcp_ao: Option<Spanned<RawTcpAo>>,
            ttl_security: Option<Spanned<u8>>,
        }

        impl $name {
            pub(crate) fn session(&mut self) -> RawSession {
                RawSession {
                    role: self.role,
                    families: std::mem::take(&mut self.families),
                    hold_time: self.hold_time.take(),
                    keepalive: self.keepalive.take(),
                    connect_retry: self.connect_retry,
                    refresh_stale_time: self.refresh_stale_time.take(),
                    passive: self.passive,
                    local_address: self.local_address,
                    import: std::mem::take(&mut self.import),
                    export: std::mem::take(&mut self.export),
                    allowed_prefixes: std::mem::take(&mut self.allowed_prefixes),
                    max_prefix: self.max_prefix,
                    description: self.description.take(),
                    add_path: self.add_path,
                    graceful_restart: self.graceful_restart,
                    interpret_communities: self.interpret_communities,
                    auth: RawAuth {
                        password: self.password.take(),
                        password_file: self.password_file.take(),
                        password_env: self.password_env.take(),
                        tcp_ao: self.tcp_ao.take(),
                        ttl_security: self.ttl_security.take(),
                    },
                }
            }
        }
    };
}

with_session_keys! {
    /// `[[peer]]`: a static neighbor.
    RawPeer {
        address: Spanned<IpAddr>,
        remote_as: Spanned<u32>,
    }
}

with_session_keys! {
    /// `[[template]]`: dynamic neighbors from an address range.
    RawTemplate {
        name: Spanned<String>,
        range: Spanned<ipnet::IpNet>,
        /// One AS (`64512`) or a range (`"64512-65534"`).
        remote_as: Spanned<RawAs>,
        max_sessions: Option<u32>,
    }
}

/// An AS number or an inclusive range written `"LOW-HIGH"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawAs {
    One(u32),
    Range(String),
}

/// `[[route]]`: a route the server originates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRoute {
    pub(crate) prefix: ipnet::IpNet,
    /// `"self"` (default) or an address.
    pub(crate) next_hop: Option<Spanned<String>>,
    /// Announce as an aggregate of received more-specifics (ATOMIC_AGGREGATE
    /// and AGGREGATOR set), only while at least one more-specific exists.
    #[serde(default)]
    pub(crate) aggregate: bool,
    /// With `aggregate`: suppress the more-specifics toward peers.
    #[serde(default)]
    pub(crate) summary_only: bool,
    #[serde(default)]
    pub(crate) communities: Vec<String>,
}

/// I/O backend (`io-backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IoBackend {
    /// io_uring where the kernel allows it, else epoll.
    #[default]
    Auto,
    /// io_uring; start fails where it is unavailable.
    Uring,
    /// epoll.
    Epoll,
}

/// A peer's role toward the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Route server client (RFC 7947): transparent, per-client best path.
    RsClient,
    /// Route reflector client (RFC 4456).
    RrClient,
    /// Plain iBGP peer (RFC 4456 non-client).
    Ibgp,
    /// eBGP peer (RFC 8212: nothing in or out without a policy).
    Ebgp,
}

impl Role {
    /// The name the configuration uses (`rs-client`, ...), which filters
    /// match with `peer-role` and `show peers` prints.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::RsClient => "rs-client",
            Self::RrClient => "rr-client",
            Self::Ibgp => "ibgp",
            Self::Ebgp => "ebgp",
        }
    }
}

/// An address family a session carries (`families`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// IPv4 unicast.
    Ipv4Unicast,
    /// IPv6 unicast.
    Ipv6Unicast,
}

/// ADD-PATH toward this peer (RFC 7911).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddPathMode {
    /// No ADD-PATH.
    #[default]
    None,
    /// Receive path identifiers from the peer.
    Receive,
    /// Send every path to the peer.
    Send,
    /// Both directions.
    Both,
}

/// Max-prefix limit (`max-prefix = { limit = 1000, action = "shutdown" }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MaxPrefixConfig {
    /// Prefixes accepted before the action applies (per session, all
    /// families; after import policy; with ADD-PATH receive each path of a
    /// prefix counts, as in BIRD's import limit).
    pub limit: u32,
    /// What happens when the limit is crossed.
    #[serde(default)]
    pub action: MaxPrefixAction,
    /// With `action = "restart"`: seconds before the session may come back.
    pub restart_after: Option<u32>,
}

/// Max-prefix action (RFC 4486 §4: Cease subcode 1 when the session is cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixAction {
    /// Send Cease/1 and stay down until reset by the operator.
    #[default]
    Shutdown,
    /// Send Cease/1 and allow the session back after `restart-after` seconds.
    Restart,
    /// Keep the session; ignore prefixes beyond the limit.
    DropExcess,
}

/// Next hop of an originated route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopSetting {
    /// The session's local address toward each peer (`"self"`).
    #[default]
    SelfAddress,
    /// A fixed address.
    Address(IpAddr),
}
