//! The virtio v1.2 sections the tutorial may cite, numbered as the published specification
//! numbers them, so that a chapter's `Spec("2.7.9")` link or a `§2.7.9` in its narration can
//! be checked and printed with its title.
//!
//! The table was produced from the specification's LaTeX source at tag `v1.2-cs01` of
//! `oasis-tcs/virtio-spec` by walking `main.tex`'s `\input`s in order and counting
//! `\chapter`, `\section`, `\subsection`, `\subsubsection` and `\paragraph` (and the
//! `\drivernormative`/`\devicenormative` macros, which expand to one of them), as LaTeX does
//! with `secnumdepth` 5. Chapters 2, 3 and 6 are here whole, and the PCI capability and
//! virtqueue configuration sections of chapter 4 the tutorial points at. (HEAD, v1.4, numbers the ring sections the same.)

/// `(number, title)` of every section the tutorial can cite.
pub const SECTIONS: &[(&str, &str)] = &[
    ("2", "Basic Facilities of a Virtio Device"),
    ("2.1", "Device Status Field"),
    ("2.1.1", "Driver Requirements: Device Status Field"),
    ("2.1.2", "Device Requirements: Device Status Field"),
    ("2.2", "Feature Bits"),
    ("2.2.1", "Driver Requirements: Feature Bits"),
    ("2.2.2", "Device Requirements: Feature Bits"),
    ("2.2.3", "Legacy Interface: A Note on Feature Bits"),
    ("2.3", "Notifications"),
    ("2.4", "Device Reset"),
    ("2.4.1", "Device Requirements: Device Reset"),
    ("2.4.2", "Driver Requirements: Device Reset"),
    ("2.5", "Device Configuration Space"),
    ("2.5.1", "Driver Requirements: Device Configuration Space"),
    ("2.5.2", "Device Requirements: Device Configuration Space"),
    (
        "2.5.3",
        "Legacy Interface: A Note on Device Configuration Space endian-ness",
    ),
    ("2.5.4", "Legacy Interface: Device Configuration Space"),
    ("2.6", "Virtqueues"),
    ("2.6.1", "Virtqueue Reset"),
    ("2.6.1.1", "Virtqueue Reset"),
    ("2.6.1.1.1", "Device Requirements: Virtqueue Reset"),
    ("2.6.1.1.2", "Driver Requirements: Virtqueue Reset"),
    ("2.6.1.2", "Virtqueue Re-enable"),
    ("2.6.1.2.1", "Device Requirements: Virtqueue Re-enable"),
    ("2.6.1.2.2", "Driver Requirements: Virtqueue Re-enable"),
    ("2.7", "Split Virtqueues"),
    ("2.7.1", "Driver Requirements: Virtqueues"),
    ("2.7.2", "Legacy Interfaces: A Note on Virtqueue Layout"),
    ("2.7.3", "Legacy Interfaces: A Note on Virtqueue Endianness"),
    ("2.7.4", "Message Framing"),
    ("2.7.4.1", "Device Requirements: Message Framing"),
    ("2.7.4.2", "Driver Requirements: Message Framing"),
    ("2.7.4.3", "Legacy Interface: Message Framing"),
    ("2.7.5", "The Virtqueue Descriptor Table"),
    (
        "2.7.5.1",
        "Device Requirements: The Virtqueue Descriptor Table",
    ),
    (
        "2.7.5.2",
        "Driver Requirements: The Virtqueue Descriptor Table",
    ),
    ("2.7.5.3", "Indirect Descriptors"),
    ("2.7.5.3.1", "Driver Requirements: Indirect Descriptors"),
    ("2.7.5.3.2", "Device Requirements: Indirect Descriptors"),
    ("2.7.6", "The Virtqueue Available Ring"),
    (
        "2.7.6.1",
        "Driver Requirements: The Virtqueue Available Ring",
    ),
    ("2.7.7", "Used Buffer Notification Suppression"),
    (
        "2.7.7.1",
        "Driver Requirements: Used Buffer Notification Suppression",
    ),
    (
        "2.7.7.2",
        "Device Requirements: Used Buffer Notification Suppression",
    ),
    ("2.7.8", "The Virtqueue Used Ring"),
    ("2.7.8.1", "Legacy Interface: The Virtqueue Used Ring"),
    ("2.7.8.2", "Device Requirements: The Virtqueue Used Ring"),
    ("2.7.8.3", "Driver Requirements: The Virtqueue Used Ring"),
    ("2.7.9", "In-order use of descriptors"),
    ("2.7.10", "Available Buffer Notification Suppression"),
    (
        "2.7.10.1",
        "Driver Requirements: Available Buffer Notification Suppression",
    ),
    (
        "2.7.10.2",
        "Device Requirements: Available Buffer Notification Suppression",
    ),
    ("2.7.11", "Helpers for Operating Virtqueues"),
    ("2.7.12", "Virtqueue Operation"),
    ("2.7.13", "Supplying Buffers to The Device"),
    ("2.7.13.1", "Placing Buffers Into The Descriptor Table"),
    ("2.7.13.2", "Updating The Available Ring"),
    ("2.7.13.3", "Updating idx"),
    ("2.7.13.3.1", "Driver Requirements: Updating idx"),
    ("2.7.13.4", "Notifying The Device"),
    ("2.7.13.4.1", "Driver Requirements: Notifying The Device"),
    ("2.7.14", "Receiving Used Buffers From The Device"),
    ("2.8", "Packed Virtqueues"),
    ("2.8.1", "Driver and Device Ring Wrap Counters"),
    ("2.8.2", "Polling of available and used descriptors"),
    ("2.8.3", "Write Flag"),
    ("2.8.4", "Element Address and Length"),
    ("2.8.5", "Scatter-Gather Support"),
    ("2.8.6", "Next Flag: Descriptor Chaining"),
    ("2.8.7", "Indirect Flag: Scatter-Gather Support"),
    ("2.8.8", "In-order use of descriptors"),
    ("2.8.9", "Multi-buffer requests"),
    ("2.8.10", "Driver and Device Event Suppression"),
    ("2.8.10.1", "Structure Size and Alignment"),
    ("2.8.11", "Driver Requirements: Virtqueues"),
    ("2.8.12", "Device Requirements: Virtqueues"),
    ("2.8.13", "The Virtqueue Descriptor Format"),
    ("2.8.14", "Event Suppression Structure Format"),
    (
        "2.8.15",
        "Device Requirements: The Virtqueue Descriptor Table",
    ),
    (
        "2.8.16",
        "Driver Requirements: The Virtqueue Descriptor Table",
    ),
    ("2.8.17", "Driver Requirements: Scatter-Gather Support"),
    ("2.8.18", "Device Requirements: Scatter-Gather Support"),
    ("2.8.19", "Driver Requirements: Indirect Descriptors"),
    ("2.8.20", "Virtqueue Operation"),
    ("2.8.21", "Supplying Buffers to The Device"),
    (
        "2.8.21.1",
        "Placing Available Buffers Into The Descriptor Ring",
    ),
    ("2.8.21.1.1", "Driver Requirements: Updating flags"),
    ("2.8.21.2", "Sending Available Buffer Notifications"),
    ("2.8.21.3", "Implementation Example"),
    (
        "2.8.21.3.1",
        "Driver Requirements: Sending Available Buffer Notifications",
    ),
    ("2.8.22", "Receiving Used Buffers From The Device"),
    ("2.9", "Driver Notifications"),
    ("2.10", "Shared Memory Regions"),
    ("2.10.1", "Addressing within regions"),
    ("2.10.2", "Device Requirements: Shared Memory Regions"),
    ("2.11", "Exporting Objects"),
    ("3", "General Initialization And Device Operation"),
    ("3.1", "Device Initialization"),
    ("3.1.1", "Driver Requirements: Device Initialization"),
    ("3.1.2", "Legacy Interface: Device Initialization"),
    ("3.2", "Device Operation"),
    ("3.2.1", "Notification of Device Configuration Changes"),
    ("3.3", "Device Cleanup"),
    ("3.3.1", "Driver Requirements: Device Cleanup"),
    ("4", "Virtio Transport Options"),
    ("4.1", "Virtio Over PCI Bus"),
    ("4.1.4", "Virtio Structure PCI Capabilities"),
    (
        "4.1.4.1",
        "Driver Requirements: Virtio Structure PCI Capabilities",
    ),
    (
        "4.1.4.2",
        "Device Requirements: Virtio Structure PCI Capabilities",
    ),
    ("4.1.4.3", "Common configuration structure layout"),
    (
        "4.1.4.3.1",
        "Device Requirements: Common configuration structure layout",
    ),
    (
        "4.1.4.3.2",
        "Driver Requirements: Common configuration structure layout",
    ),
    ("4.1.4.4", "Notification structure layout"),
    ("4.1.4.4.1", "Device Requirements: Notification capability"),
    ("4.1.4.5", "ISR status capability"),
    ("4.1.4.5.1", "Device Requirements: ISR status capability"),
    ("4.1.4.5.2", "Driver Requirements: ISR status capability"),
    ("4.1.5.1.3", "Virtqueue Configuration"),
    (
        "4.1.5.1.3.1",
        "Legacy Interface: A Note on Virtqueue Configuration",
    ),
    ("4.1.4.6", "Device-specific configuration"),
    (
        "4.1.4.6.1",
        "Device Requirements: Device-specific configuration",
    ),
    ("4.1.4.7", "Shared memory capability"),
    ("4.1.4.7.1", "Device Requirements: Shared memory capability"),
    ("4.1.4.8", "Vendor data capability"),
    ("4.1.4.8.1", "Device Requirements: Vendor data capability"),
    ("4.1.4.8.2", "Driver Requirements: Vendor data capability"),
    ("4.1.4.9", "PCI configuration access capability"),
    (
        "4.1.4.9.1",
        "Device Requirements: PCI configuration access capability",
    ),
    (
        "4.1.4.9.2",
        "Driver Requirements: PCI configuration access capability",
    ),
    ("4.1.4.10", "Legacy Interfaces: A Note on PCI Device Layout"),
    (
        "4.1.4.11",
        "Non-transitional Device With Legacy Driver: A Note",
    ),
    (
        "4.1.4.11.0.1",
        "Device Requirements: Non-transitional Device With Legacy Driver",
    ),
    ("6", "Reserved Feature Bits"),
    ("6.1", "Driver Requirements: Reserved Feature Bits"),
    ("6.2", "Device Requirements: Reserved Feature Bits"),
    ("6.3", "Legacy Interface: Reserved Feature Bits"),
];

/// The title of section `number` (`"2.7.9"`), if the table has it.
pub fn title(number: &str) -> Option<&'static str> {
    SECTIONS.iter().find(|(n, _)| *n == number).map(|(_, t)| *t)
}

/// Every `§N.N...` citation in `text`, as the section numbers it names (a trailing full stop
/// of the sentence is not part of the number).
pub fn citations(text: &str) -> Vec<&str> {
    text.match_indices('§')
        .map(|(i, s)| {
            let rest = &text[i + s.len()..];
            let n = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..n].trim_end_matches('.')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_sections_have_their_v1_2_numbers() {
        // Spot checks against the published v1.2 table of contents.
        assert_eq!(title("2.7"), Some("Split Virtqueues"));
        assert_eq!(title("2.7.9"), Some("In-order use of descriptors"));
        assert_eq!(title("2.8.1"), Some("Driver and Device Ring Wrap Counters"));
        assert_eq!(title("2.9"), Some("Driver Notifications"));
        assert_eq!(
            title("3.1.1"),
            Some("Driver Requirements: Device Initialization")
        );
        assert_eq!(title("2.7.99"), None);
    }

    #[test]
    fn citations_are_found_without_the_sentence_end() {
        assert_eq!(
            citations("see §2.7.6. Then §2.8.1, and §3.1."),
            vec!["2.7.6", "2.8.1", "3.1"]
        );
    }
}
