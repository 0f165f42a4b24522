//! Parsers for the values of CLI flags: sizes (`64MiB`), mount specs (`[HOST::]GUEST`) and
//! environment assignments (`K[=V]`). Pure string functions: they never read the host
//! filesystem or environment (`main.rs` does that, after parsing succeeded).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A byte budget: `Some(bytes)`, or `None` for `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit(Option<u64>);

impl SizeLimit {
    /// The budget in bytes, `None` if unlimited.
    pub fn bytes(self) -> Option<u64> {
        self.0
    }
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => write!(f, "{bytes} bytes"),
            None => f.write_str("unlimited"),
        }
    }
}

impl FromStr for SizeLimit {
    type Err = String;

    /// Accepts plain bytes (`4096`), a binary unit (`512K`, `512KiB`, `10M`, `10MiB`, `1G`,
    /// `1GiB`, case-insensitive, optional `B` for bytes) or `unlimited`. `KB`/`MB`/`GB` are
    /// refused rather than guessed: half the world reads them as powers of 1000.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("unlimited") {
            return Ok(SizeLimit(None));
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        if digits.is_empty() {
            return Err(format!(
                "`{text}` is not a size: expected a number of bytes, optionally with a unit \
                 (K, KiB, M, MiB, G, GiB), or `unlimited`"
            ));
        }
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kib" => 10,
            "m" | "mib" => 20,
            "g" | "gib" => 30,
            "kb" | "mb" | "gb" => {
                return Err(format!(
                    "`{unit}` is ambiguous: write KiB, MiB or GiB (powers of 1024), or plain bytes"
                ));
            }
            _ => {
                return Err(format!(
                    "unknown size unit `{unit}`: use K, KiB, M, MiB, G, GiB, or plain bytes"
                ));
            }
        };
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        number
            .checked_mul(1u64 << shift)
            .map(|bytes| SizeLimit(Some(bytes)))
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

/// A `--mem-dir [HOST::]GUEST` mount: an in-memory directory at GUEST, filled from HOST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemDir {
    /// The host directory to copy in, if any.
    pub host: Option<PathBuf>,
    /// The preopen name the guest sees.
    pub guest: String,
}

impl FromStr for MemDir {
    type Err = String;

    /// Splits at the first `::`, as `wasmtime run --dir` does.
    fn from_str(text: &str) -> Result<Self, String> {
        let (host, guest) = match text.split_once("::") {
            Some((host, guest)) => {
                if host.is_empty() {
                    return Err(format!("`{text}`: the host directory before `::` is empty"));
                }
                (Some(PathBuf::from(host)), guest)
            }
            None => (None, text),
        };
        if guest.is_empty() {
            return Err(format!("`{text}`: the guest path is empty"));
        }
        Ok(MemDir {
            host,
            guest: guest.to_string(),
        })
    }
}

/// A `--dir`, `--ro-dir` or `--overlay` mount: `HOST[::GUEST]`, as `wasmtime run --dir`
/// (without `::GUEST` the guest sees the host path itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMount {
    /// The host directory.
    pub host: PathBuf,
    /// The preopen name the guest sees.
    pub guest: String,
}

impl FromStr for HostMount {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, guest) = text.split_once("::").unwrap_or((text, text));
        if host.is_empty() {
            return Err(format!("`{text}`: the host directory is empty"));
        }
        if guest.is_empty() {
            return Err(format!("`{text}`: the guest path is empty"));
        }
        Ok(HostMount {
            host: PathBuf::from(host),
            guest: guest.to_string(),
        })
    }
}

/// A `--timeout` value: a positive number with an optional unit (`ms`, `s`, `m`, `h`; bare
/// numbers are seconds), fractions allowed (`1.5s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale = match unit.trim() {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(format!(
                    "unknown time unit `{other}`: use ms, s, m or h (a bare number is seconds)"
                ));
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 10s, 2m, 1h)"))?;
        let seconds = value * scale;
        match Duration::try_from_secs_f64(seconds) {
            Ok(d) if !d.is_zero() => Ok(Timeout(d)),
            _ => Err(format!("`{text}`: the timeout must be positive and finite")),
        }
    }
}

/// An `--env K[=V]` assignment; without `=V` the host's value is inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable's name.
    pub key: String,
    /// Its value, or `None` to take the host's.
    pub value: Option<String>,
}

impl FromStr for EnvVar {
    type Err = String;

    /// Splits at the first `=`, so values may contain `=`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (text, None),
        };
        if key.is_empty() {
            return Err(format!("`{text}`: the variable name is empty"));
        }
        Ok(EnvVar {
            key: key.to_string(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Result<Option<u64>, String> {
        text.parse::<SizeLimit>().map(SizeLimit::bytes)
    }

    #[test]
    fn sizes_accept_bytes_binary_units_and_unlimited() {
        assert_eq!(size("0"), Ok(Some(0)));
        assert_eq!(size("4096"), Ok(Some(4096)));
        assert_eq!(size("10B"), Ok(Some(10)));
        assert_eq!(size("512k"), Ok(Some(512 << 10)));
        assert_eq!(size("512KiB"), Ok(Some(512 << 10)));
        assert_eq!(size("10MiB"), Ok(Some(10 << 20)));
        assert_eq!(size("10m"), Ok(Some(10 << 20)));
        assert_eq!(size("2GiB"), Ok(Some(2 << 30)));
        assert_eq!(size("unlimited"), Ok(None));
        assert_eq!(size("UNLIMITED"), Ok(None));
    }

    #[test]
    fn sizes_refuse_garbage_ambiguity_and_overflow() {
        for bad in ["", "MiB", "-1", "1.5M", "10MB", "10kb", "10 parsecs", "1T"] {
            assert!(size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(size("18446744073709551615").is_ok());
        assert!(size("18446744073709551616").is_err());
        assert!(size("17179869184GiB").is_err());
    }

    #[test]
    fn mem_dir_splits_at_the_first_double_colon() {
        let m: MemDir = "/srv/data::/data".parse().unwrap();
        assert_eq!(m.host, Some(PathBuf::from("/srv/data")));
        assert_eq!(m.guest, "/data");
        let m: MemDir = "/scratch".parse().unwrap();
        assert_eq!((m.host, m.guest.as_str()), (None, "/scratch"));
        let m: MemDir = "a::b::c".parse().unwrap();
        assert_eq!(
            (m.host, m.guest.as_str()),
            (Some(PathBuf::from("a")), "b::c")
        );
        assert!("".parse::<MemDir>().is_err());
        assert!("host::".parse::<MemDir>().is_err());
        assert!("::/data".parse::<MemDir>().is_err());
    }

    #[test]
    fn timeouts_accept_units_and_refuse_nonsense() {
        let t = |s: &str| s.parse::<Timeout>().map(|t| t.0);
        assert_eq!(t("10"), Ok(Duration::from_secs(10)));
        assert_eq!(t("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(t("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(t("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(t("0.25s"), Ok(Duration::from_millis(250)));
        for bad in ["", "0", "-1s", "10 parsecs", "1e999", "s", "1.2.3s"] {
            assert!(t(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn env_splits_at_the_first_equals_sign() {
        let e: EnvVar = "A=b=c".parse().unwrap();
        assert_eq!((e.key.as_str(), e.value.as_deref()), ("A", Some("b=c")));
        let e: EnvVar = "A=".parse().unwrap();
        assert_eq!(e.value.as_deref(), Some(""));
        let e: EnvVar = "HOME".parse().unwrap();
        assert_eq!(e.value, None);
        assert!("=x".parse::<EnvVar>().is_err());
        assert!("".parse::<EnvVar>().is_err());
    }
}
