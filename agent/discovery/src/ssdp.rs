//! SSDP (UPnP Device Architecture 2.0 §1), UDP 1900: `NOTIFY` announcements, `M-SEARCH`
//! requests and their `HTTP/1.1 200 OK` responses.
//!
//! A notification or response describes its sender: `SERVER` → `server`, an `NT`/`ST` naming
//! a device type (`urn:...:device:...`) → `device_type` (the whole URN), `USN` → `usn`,
//! `LOCATION` → `location`. An `M-SEARCH` is what a client looks for, not what it is: it
//! records only the sender. At most [`MAX_LINES`] header lines are read.

use crate::bounded::{push_attr, text};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Ssdp);
/// Most header lines read from one message.
pub const MAX_LINES: usize = 64;

/// Reads one SSDP message (the UDP payload) into `obs`.
pub fn parse(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Ssdp);
    let mut lines = msg.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next().ok_or(MALFORMED)?;
    let describes_sender = if start.starts_with(b"NOTIFY ") || start.starts_with(b"HTTP/1.1 200") {
        true
    } else if start.starts_with(b"M-SEARCH ") {
        false
    } else {
        return Err(MALFORMED);
    };
    if !describes_sender {
        return Ok(());
    }
    for line in lines.take(MAX_LINES) {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        let is = |want: &str| name.eq_ignore_ascii_case(want.as_bytes());
        if is("SERVER") {
            push_attr(obs, "server", text(value));
        } else if is("NT") || is("ST") {
            if value.len() > 4 && value[..4].eq_ignore_ascii_case(b"urn:") && contains(value, b":device:") {
                push_attr(obs, "device_type", text(value));
            }
        } else if is("USN") {
            push_attr(obs, "usn", text(value));
        } else if is("LOCATION") {
            push_attr(obs, "location", text(value));
        }
    }
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age=1800\r\n\
LOCATION: http://192.168.1.50:49152/description.xml\r\n\
NT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\
NTS: ssdp:alive\r\n\
SERVER: Linux/4.9 UPnP/1.0 Sonos/70.3\r\n\
USN: uuid:RINCON_000E58A0B1C201400::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\
\r\n";

    pub(crate) const M_SEARCH: &[u8] = b"M-SEARCH * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
MAN: \"ssdp:discover\"\r\n\
MX: 2\r\n\
ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n";

    fn run(m: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse(m, &mut obs).map(|()| obs)
    }

    #[test]
    fn notify() {
        assert_eq!(
            run(NOTIFY).unwrap().attributes,
            [
                ("location", "http://192.168.1.50:49152/description.xml".to_owned()),
                ("device_type", "urn:schemas-upnp-org:device:MediaRenderer:1".to_owned()),
                ("server", "Linux/4.9 UPnP/1.0 Sonos/70.3".to_owned()),
                ("usn", "uuid:RINCON_000E58A0B1C201400::urn:schemas-upnp-org:device:MediaRenderer:1".to_owned()),
            ]
        );
    }

    #[test]
    fn search_response_with_lowercase_headers_and_bare_newlines() {
        let m = b"HTTP/1.1 200 OK\nst: urn:schemas-upnp-org:device:InternetGatewayDevice:1\nserver:  miniupnpd/2.3 \nlocation:http://10.0.0.1:5000/rootDesc.xml\n\nBODY: x\n";
        let obs = run(m).unwrap();
        assert_eq!(
            obs.attributes,
            [
                ("device_type", "urn:schemas-upnp-org:device:InternetGatewayDevice:1".to_owned()),
                ("server", "miniupnpd/2.3".to_owned()),
                ("location", "http://10.0.0.1:5000/rootDesc.xml".to_owned()),
            ]
        );
    }

    #[test]
    fn search_requests_record_only_the_sender() {
        assert_eq!(run(M_SEARCH).unwrap(), Observation { protocol: Some(Protocol::Ssdp), ..Default::default() });
    }

    #[test]
    fn services_are_not_device_types_and_junk_is_malformed() {
        let m =
            b"NOTIFY * HTTP/1.1\r\nNT: urn:schemas-upnp-org:service:ContentDirectory:1\r\nNT: upnp:rootdevice\r\n\r\n";
        assert!(run(m).unwrap().attributes.is_empty());
        assert_eq!(run(b"GET / HTTP/1.1\r\n\r\n"), Err(MALFORMED));
        assert_eq!(run(b""), Err(MALFORMED));
        assert_eq!(run(b"\x00\xff"), Err(MALFORMED));
    }

    #[test]
    fn header_lines_are_capped() {
        let mut m = b"NOTIFY * HTTP/1.1\r\n".to_vec();
        for _ in 0..MAX_LINES {
            m.extend_from_slice(b"X-Filler: 1\r\n");
        }
        m.extend_from_slice(b"SERVER: late\r\n\r\n");
        assert!(run(&m).unwrap().attributes.is_empty());
    }
}
