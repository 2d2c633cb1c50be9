//! Keeps the fetcher away from the operator's own network when
//! `deny_private_networks` is on: a feed URL must not become a way to probe
//! localhost, the LAN or a cloud metadata endpoint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Raised inside the resolver; the fetcher finds it in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to a private or local address")]
pub(super) struct PrivateHost(pub String);

/// Resolves names like the system does, but refuses names that point inward.
/// Checking at connect time (not before the request) means a DNS answer that
/// changes between a check and the connection cannot slip through.
pub(super) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.iter().any(|a| is_private(a.ip())) {
                return Err(Box::new(PrivateHost(host)) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// IP literals never reach the resolver, so they are checked on the URL itself.
pub(super) fn literal_is_private(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(Host::Domain(_)) | None => false,
    }
}

pub(super) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_private(v4),
        IpAddr::V6(v6) => v6_is_private(v6),
    }
}

fn v4_is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let carrier_nat = a == 100 && (b & 0xc0) == 64;
    let this_network = a == 0;
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || carrier_nat
        || this_network
}

fn v6_is_private(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_private(v4);
    }
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(raw: &str) -> bool {
        raw.parse::<IpAddr>().map(is_private).unwrap_or(false)
    }

    #[test]
    fn inward_addresses_are_private() {
        for raw in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(private(raw), "{raw} should count as private");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for raw in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "100.63.255.255",
            "193.0.6.139",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(!private(raw), "{raw} should count as public");
        }
    }

    #[test]
    fn ip_literals_in_urls_are_checked() {
        let inward = [
            "http://127.0.0.1/feed",
            "http://[::1]:8080/",
            "http://127.1/",
        ];
        for raw in inward {
            let url = Url::parse(raw).map_err(|e| e.to_string());
            assert_eq!(url.map(|u| literal_is_private(&u)), Ok(true), "{raw}");
        }
        let url = Url::parse("http://example.org/feed").map_err(|e| e.to_string());
        assert_eq!(url.map(|u| literal_is_private(&u)), Ok(false));
    }
}
