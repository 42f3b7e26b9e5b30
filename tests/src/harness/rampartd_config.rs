//! The rampartd configuration a test runs with, built instead of written
//! out in each test: `[global]` (AS 64500, two workers, the control socket
//! in the test's directory) and one `[[peer]]` table per peer, with the
//! short timers tests use (hold 9 s, connect retry 1 s).

use std::fmt;
use std::path::Path;

/// A rampartd TOML configuration under construction.
#[derive(Debug, Clone)]
pub struct RampartdConfig {
    listen: String,
    text: String,
}

impl RampartdConfig {
    /// rampartd with BGP identifier `router_id`, listening on `listen`
    /// (also its source address toward the peers it connects to), with its
    /// control socket at `dir/ctl.sock`.
    #[must_use]
    pub fn new(router_id: &str, listen: &str, dir: &Path) -> Self {
        let text = format!(
            "[global]\nrouter-id = \"{router_id}\"\nlocal-as = 64500\nlisten = [\"{listen}\"]\n\
             workers = 2\ncontrol-socket = \"{}\"\n",
            dir.join("ctl.sock").display()
        );
        Self {
            listen: listen.to_string(),
            text,
        }
    }

    /// A peer that connects to rampartd (`passive = true` on our side);
    /// `extra` is TOML added to its table (families, max-prefix, …).
    #[must_use]
    pub fn passive_peer(self, address: &str, asn: u32, role: &str, extra: &str) -> Self {
        self.peer(address, asn, role, &format!("passive = true\n{extra}"))
    }

    /// A peer rampartd connects to, from its listen address.
    #[must_use]
    pub fn active_peer(self, address: &str, asn: u32, role: &str, extra: &str) -> Self {
        let local = format!("local-address = \"{}\"\n{extra}", self.listen);
        self.peer(address, asn, role, &local)
    }

    /// A `[global]` key (`policy-files = [...]`), placed in the `[global]`
    /// table whatever was added since.
    #[must_use]
    pub fn global(mut self, toml: &str) -> Self {
        let at = self.text.find("\n[").map_or(self.text.len(), |i| i + 1);
        self.text.insert_str(at, &format!("{}\n", toml.trim_end()));
        self
    }

    /// TOML appended as it is (templates, routes).
    #[must_use]
    pub fn raw(mut self, toml: &str) -> Self {
        self.text.push('\n');
        self.text.push_str(toml);
        self
    }

    fn peer(mut self, address: &str, asn: u32, role: &str, extra: &str) -> Self {
        self.text.push_str(&format!(
            "\n[[peer]]\naddress = \"{address}\"\nremote-as = {asn}\nrole = \"{role}\"\n\
             hold-time = 9\nconnect-retry = 1\n{extra}"
        ));
        if !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self
    }
}

impl fmt::Display for RampartdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_config_rampartd_would_read() {
        let c = RampartdConfig::new("198.18.0.1", "198.18.0.1", Path::new("/tmp/x"))
            .passive_peer(
                "198.18.0.2",
                64501,
                "rs-client",
                "max-prefix = { limit = 3 }",
            )
            .active_peer("198.18.0.3", 64502, "ibgp", "")
            .raw("[[template]]\nname = \"t\"\n")
            .to_string();
        let v: Vec<&str> = c.lines().collect();
        assert!(v.contains(&"control-socket = \"/tmp/x/ctl.sock\""), "{c}");
        assert!(
            v.contains(&"passive = true") && v.contains(&"max-prefix = { limit = 3 }"),
            "{c}"
        );
        assert!(v.contains(&"local-address = \"198.18.0.1\""), "{c}");
        assert_eq!(c.matches("[[peer]]").count(), 2, "{c}");
        assert!(c.ends_with("name = \"t\"\n"), "{c}");
    }
}
