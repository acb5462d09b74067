//! Feature bits, the device status byte, and the negotiation walk between them (virtio 1.2 §2.1,
//! §2.2, §3.1).
//!
//! Negotiation is the AND of what the device offers and what the driver accepts; the device has
//! the last word when the driver sets FEATURES_OK. The status byte is the handshake's only
//! shared state, so every write to it is checked against the order the spec requires.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of feature bits (0..64 covers every bit the spec defines today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(pub u64);

/// Named feature bits: `(bit, name)`. Device-type bits (0..23) are not named here because
/// ringside models the ring, not a device type; they still negotiate as plain numbers.
pub const FEATURE_NAMES: &[(u32, &str)] = &[
    (24, "NOTIFY_ON_EMPTY"),
    (27, "ANY_LAYOUT"),
    (28, "INDIRECT_DESC"),
    (29, "EVENT_IDX"),
    (32, "VERSION_1"),
    (33, "ACCESS_PLATFORM"),
    (34, "RING_PACKED"),
    (35, "IN_ORDER"),
    (36, "ORDER_PLATFORM"),
    (37, "SR_IOV"),
    (38, "NOTIFICATION_DATA"),
    (39, "NOTIF_CONFIG_DATA"),
    (40, "RING_RESET"),
];

impl Features {
    /// No bits.
    pub const NONE: Features = Features(0);
    /// VIRTIO_F_NOTIFY_ON_EMPTY (24, legacy).
    pub const NOTIFY_ON_EMPTY: Features = Features(1 << 24);
    /// VIRTIO_F_ANY_LAYOUT (27, legacy).
    pub const ANY_LAYOUT: Features = Features(1 << 27);
    /// VIRTIO_F_INDIRECT_DESC (28).
    pub const INDIRECT_DESC: Features = Features(1 << 28);
    /// VIRTIO_F_EVENT_IDX (29).
    pub const EVENT_IDX: Features = Features(1 << 29);
    /// VIRTIO_F_VERSION_1 (32): a modern (virtio 1.x) device or driver.
    pub const VERSION_1: Features = Features(1 << 32);
    /// VIRTIO_F_ACCESS_PLATFORM (33).
    pub const ACCESS_PLATFORM: Features = Features(1 << 33);
    /// VIRTIO_F_RING_PACKED (34).
    pub const RING_PACKED: Features = Features(1 << 34);
    /// VIRTIO_F_IN_ORDER (35).
    pub const IN_ORDER: Features = Features(1 << 35);
    /// VIRTIO_F_ORDER_PLATFORM (36).
    pub const ORDER_PLATFORM: Features = Features(1 << 36);
    /// VIRTIO_F_NOTIFICATION_DATA (38).
    pub const NOTIFICATION_DATA: Features = Features(1 << 38);
    /// VIRTIO_F_RING_RESET (40).
    pub const RING_RESET: Features = Features(1 << 40);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }
    /// Bits in both.
    pub fn and(self, other: Features) -> Features {
        Features(self.0 & other.0)
    }
    /// Bits in either.
    pub fn or(self, other: Features) -> Features {
        Features(self.0 | other.0)
    }
    /// Bits in `self` but not `other`.
    pub fn minus(self, other: Features) -> Features {
        Features(self.0 & !other.0)
    }
    /// One 32-bit window, as the transport's `*_feature_select` exposes it.
    pub fn word(self, select: u8) -> u32 {
        match select {
            0 => self.0 as u32,
            1 => (self.0 >> 32) as u32,
            _ => 0,
        }
    }
    /// The name of a bit, or `bitN`.
    pub fn bit_name(bit: u32) -> String {
        FEATURE_NAMES
            .iter()
            .find(|(b, _)| *b == bit)
            .map(|(_, n)| (*n).to_string())
            .unwrap_or_else(|| format!("bit{bit}"))
    }
    /// Parses `EVENT_IDX`, `VIRTIO_F_EVENT_IDX`, `VIRTIO_RING_F_EVENT_IDX` or `bit29`/`29`.
    pub fn parse_bit(name: &str) -> Option<u32> {
        let n = name
            .trim()
            .trim_start_matches("VIRTIO_F_")
            .trim_start_matches("VIRTIO_RING_F_");
        if let Some((b, _)) = FEATURE_NAMES
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(n))
        {
            return Some(*b);
        }
        let digits = n.strip_prefix("bit").unwrap_or(n);
        digits.parse::<u32>().ok().filter(|b| *b < 64)
    }
    /// The set bits, low to high.
    pub fn bits(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |b| self.0 >> b & 1 == 1)
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("(none)");
        }
        let names: Vec<String> = self.bits().map(Features::bit_name).collect();
        f.write_str(&names.join(" "))
    }
}

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<String> = self.bits().map(Features::bit_name).collect();
        names.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut f = Features::NONE;
        for n in names {
            let bit = Features::parse_bit(&n).ok_or_else(|| {
                let known: Vec<&str> = FEATURE_NAMES.iter().map(|(_, n)| *n).collect();
                let hint = crate::suggest::hint(&n, known.iter().copied());
                serde::de::Error::custom(format!(
                    "unknown feature `{n}`; expected one of {} or a bit number 0..63{hint}",
                    known.join(", ")
                ))
            })?;
            f.0 |= 1 << bit;
        }
        Ok(f)
    }
}

/// The device status byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Status(pub u8);

impl Status {
    /// ACKNOWLEDGE (1): the guest noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// DRIVER (2): the guest knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// DRIVER_OK (4): the driver is ready; the queues are live.
    pub const DRIVER_OK: u8 = 4;
    /// FEATURES_OK (8): the driver has finished feature negotiation.
    pub const FEATURES_OK: u8 = 8;
    /// DEVICE_NEEDS_RESET (64): the device hit an error it cannot recover from.
    pub const NEEDS_RESET: u8 = 64;
    /// FAILED (128): the driver gave up on the device.
    pub const FAILED: u8 = 128;

    const NAMES: [(u8, &'static str); 6] = [
        (Self::ACKNOWLEDGE, "ACKNOWLEDGE"),
        (Self::DRIVER, "DRIVER"),
        (Self::FEATURES_OK, "FEATURES_OK"),
        (Self::DRIVER_OK, "DRIVER_OK"),
        (Self::NEEDS_RESET, "NEEDS_RESET"),
        (Self::FAILED, "FAILED"),
    ];

    /// Whether a bit is set.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Parses a bit name such as `FEATURES_OK`.
    pub fn parse_bit(name: &str) -> Option<u8> {
        Self::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(b, _)| *b)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0 (reset)");
        }
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(b, _)| self.has(*b))
            .map(|(_, n)| *n)
            .collect();
        write!(f, "{} ({})", self.0, names.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_spec_bits() {
        assert_eq!(Features::parse_bit("VIRTIO_F_RING_PACKED"), Some(34));
        assert_eq!(Features::parse_bit("VIRTIO_RING_F_EVENT_IDX"), Some(29));
        assert_eq!(Features::parse_bit("bit5"), Some(5));
        assert_eq!(Features::parse_bit("PACKED"), None);
        let f = Features::VERSION_1.or(Features::EVENT_IDX);
        assert_eq!(f.to_string(), "EVENT_IDX VERSION_1");
        assert_eq!(f.word(1), 1);
        assert_eq!(f.word(0), 1 << 29);
        let ron_text = ron::to_string(&f).unwrap();
        assert_eq!(ron_text, r#"["EVENT_IDX","VERSION_1"]"#);
        assert_eq!(ron::from_str::<Features>(&ron_text).unwrap(), f);
    }

    #[test]
    fn unknown_feature_names_are_rejected_with_the_list() {
        let e = ron::from_str::<Features>(r#"["EVENT_IDXX"]"#).unwrap_err();
        assert!(
            e.to_string().contains("unknown feature `EVENT_IDXX`"),
            "{e}"
        );
    }

    #[test]
    fn status_prints_the_bits() {
        assert_eq!(
            Status(15).to_string(),
            "15 (ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)"
        );
        assert_eq!(Status(0).to_string(), "0 (reset)");
    }
}
