//! Passive neighbour discovery: what the frames a host hears reveal about the devices around it.
//!
//! Pure code over bytes: no sockets, no clock, no files. The agent feeds it frames (from a live
//! capture or a pcap file) and timestamps; it answers with [`Observation`]s, which a
//! [`table::NeighborTable`] folds into one bounded entry per MAC.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A protocol a device was heard speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Arp,
    Ndp,
    Dhcp,
    Dhcpv6,
    Mdns,
    Lldp,
    Cdp,
    Ssdp,
    Nbns,
}

impl Protocol {
    /// The name reports use (`Neighbor::protocols`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Arp => "arp",
            Self::Ndp => "ndp",
            Self::Dhcp => "dhcp",
            Self::Dhcpv6 => "dhcpv6",
            Self::Mdns => "mdns",
            Self::Lldp => "lldp",
            Self::Cdp => "cdp",
            Self::Ssdp => "ssdp",
            Self::Nbns => "nbns",
        }
    }
}

/// What one frame revealed about one device (the sender, identified by `mac`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    pub mac: [u8; 6],
    pub protocol: Option<Protocol>,
    /// The 802.1Q VLAN id the frame carried, when tagged.
    pub vlan: Option<u16>,
    pub ipv4: Vec<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Addr>,
    /// Names the device announced for itself.
    pub names: Vec<String>,
    /// Other facts, `(key, value)`: `vendor_class`, `client_id`, `requested_address`,
    /// `service`, `system_description`, `port`, `capabilities`, `management_address`,
    /// `server`, `device_type`, `workgroup`, `router`, and also `prl` (DHCP parameter request
    /// list), `model` (mDNS TXT), `chassis_id` (LLDP), `platform` (CDP), `usn` and `location`
    /// (SSDP).
    pub attributes: Vec<(&'static str, String)>,
}

pub mod arp;
pub mod bounded;
pub mod cdp;
pub mod dhcp;
pub mod dhcpv6;
pub mod dns;
pub mod frame;
pub mod lldp;
pub mod nbns;
pub mod ndp;
pub mod oui;
pub mod pcap;
pub mod ssdp;
pub mod table;

/// Why a frame gave nothing: counted by the caller, never an error that stops a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// Shorter than its headers or its own length fields say.
    Truncated,
    /// Well-formed so far but broken inside the named protocol (bad option, loop, bad TLV).
    Malformed(Protocol),
    /// Nothing discovery cares about (unicast TCP, other EtherTypes, ...).
    Ignored,
}
