//! Who is asking: the client's network address as the per-client limits see it, behind the
//! proxies this deployment trusts.
//!
//! In production the server speaks plain HTTP behind a TLS proxy, so the TCP peer of every request
//! is the proxy. The proxy appends the address it was connected from to `X-Forwarded-For`;
//! anything to the left of that was written by the client and proves nothing. So, when (and only
//! when) the peer is one of `TRUSTED_PROXIES`, the hops are read from the right, skipping trusted
//! proxies, and the first one that is not trusted is the client. An untrusted peer's
//! `X-Forwarded-For` is ignored entirely: anyone can send that header.
//!
//! Limits key IPv4 clients by their address and IPv6 clients by their /64: one household or phone
//! gets a whole /64 from its provider and can pick any address in it at will.

use crate::state::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header::HeaderMap, request::Parts, StatusCode},
};
use governor::{
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};
use ipnet::IpNet;
use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
};

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): addresses and networks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses (`127.0.0.1`, `::1`) and networks
    /// (`10.0.0.0/8`, `fd00::/8`). Empty items (a trailing comma) are ignored; anything else that
    /// is not an address or a network is an error naming that item.
    pub fn parse(raw: &str) -> Result<TrustedProxies, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("`{item}` is not an IP address or a network such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address, from the TCP peer and the `X-Forwarded-For` headers' values in the order
/// they came (several headers count as one list, as proxies join them).
///
/// A hop that is not an address (`unknown`, an obfuscated name, garbage) where a trusted proxy
/// should have written its client stops the walk: the client is then the trusted hop that wrote
/// it. Such requests share that proxy's quota rather than escape the limit with made-up text.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !trusted.contains(ip) {
            return ip;
        }
    }
    // Every hop is a trusted proxy: the request started at one of them (a health check, say).
    client
}

/// One `X-Forwarded-For` hop: an address, possibly with a port (`1.2.3.4:80`, `[2001:db8::1]:80`)
/// or in brackets, as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// The key a per-client limit counts under: an IPv4 address, or an IPv6 address's /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
    }
}

/// The client's address as an extractor: `ClientAddr(ip)` in a handler's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn from_parts(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> ClientAddr {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        ClientAddr(client_address(peer, forwarded, trusted))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            // Only a server started without connection info gets here: a bug, not a client.
            tracing::error!("no connection info: the server must be served with it");
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "no client address"));
        };
        Ok(ClientAddr::from_parts(
            peer.ip(),
            &parts.headers,
            &state.settings.trusted_proxies,
        ))
    }
}

/// Checks between two clean-ups of a limiter's map. Each key costs a few dozen bytes, and a
/// clean-up walks the whole map: every 4096 checks keeps the map within what a minute of traffic
/// plus 4096 new keys needs, at a walk cost spread thinly over the checks that caused it. Chosen
/// over a timer because the growth comes from checks: an idle limiter needs no work, and no task
/// has to be started, stopped or remembered by whoever builds one.
const PRUNE_EVERY: u64 = 4096;

/// A per-client rate limit (keyed by [`limit_key`]) whose memory does not grow forever: keys
/// whose quota has refilled are dropped every [`PRUNE_EVERY`] checks (a dropped key and a refilled
/// one are the same to the limiter).
pub struct ClientLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    checks: AtomicU64,
}

impl ClientLimiter {
    /// `per_minute` actions a minute, with a burst of as many.
    pub fn per_minute(per_minute: NonZeroU32) -> ClientLimiter {
        ClientLimiter::with_clock(Quota::per_minute(per_minute), DefaultClock::default())
    }
}

impl<C: Clock> ClientLimiter<C> {
    fn with_clock(quota: Quota, clock: C) -> ClientLimiter<C> {
        ClientLimiter {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one action by `client`; false when its quota is used up.
    pub fn check(&self, client: IpAddr) -> bool {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&limit_key(client)).is_ok()
    }

    /// Clients the limiter remembers now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// The value of the cookie `name` the client sent, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A refusal by a client limiter, as sent: its status becomes 429 and it says when to come back
/// (a quota refills within the minute).
pub fn refused_for_now(mut response: axum::response::Response) -> axum::response::Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("60"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(s: &str) -> TrustedProxies {
        TrustedProxies::parse(s).unwrap()
    }

    #[test]
    fn trusted_proxies_take_addresses_and_networks_of_both_families() {
        let t = trusted(" 127.0.0.1, 10.0.0.0/8,::1 , fd00::/8,");
        for yes in [
            "127.0.0.1",
            "10.200.3.4",
            "::1",
            "fd12::7",
            "::ffff:10.1.1.1",
        ] {
            assert!(t.contains(ip(yes)), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "fe80::1", "2001:db8::1"] {
            assert!(!t.contains(ip(no)), "{no}");
        }
        assert!(trusted("").is_empty());
        // A network written with host bits set means the network.
        assert!(trusted("192.168.1.77/24").contains(ip("192.168.1.3")));
    }

    #[test]
    fn a_bad_trusted_proxy_is_named() {
        for bad in [
            "localhost",
            "10.0.0.0/33",
            "1.2.3",
            "10.0.0.1 10.0.0.2",
            "::1/200",
        ] {
            let err = TrustedProxies::parse(&format!("127.0.0.1,{bad}")).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_behind_a_trusted_peer() {
        let t = trusted("127.0.0.1, 10.0.0.0/8");
        let local = ip("127.0.0.1");
        let cases: &[(&[&str], &str)] = &[
            // No header: the peer itself.
            (&[], "127.0.0.1"),
            (&["203.0.113.5"], "203.0.113.5"),
            // What the client wrote is to the left of what the proxies appended.
            (&["1.1.1.1, 203.0.113.5"], "203.0.113.5"),
            (&["1.1.1.1, 203.0.113.5, 10.0.0.3"], "203.0.113.5"),
            // Several headers are one list, in order.
            (&["1.1.1.1", "203.0.113.5, 10.0.0.3"], "203.0.113.5"),
            (&["1.1.1.1, 203.0.113.5", "10.0.0.3"], "203.0.113.5"),
            // Ports and brackets, as some proxies write them.
            (&["203.0.113.5:4711"], "203.0.113.5"),
            (&["[2001:db8::7]:443"], "2001:db8::7"),
            (&["[2001:db8::7]"], "2001:db8::7"),
            (&["2001:db8::7"], "2001:db8::7"),
            (&["::ffff:203.0.113.5"], "203.0.113.5"),
            // Everything trusted: the left-most hop.
            (&["10.0.0.9, 10.0.0.3"], "10.0.0.9"),
            // Garbage where a trusted proxy wrote its client: that proxy is the client.
            (&["203.0.113.5, unknown"], "127.0.0.1"),
            (&["203.0.113.5, garbage, 10.0.0.3"], "10.0.0.3"),
            (&["203.0.113.5, , 10.0.0.3"], "10.0.0.3"),
            // Garbage the client wrote, left of its real address, changes nothing.
            (&["unknown, 203.0.113.5"], "203.0.113.5"),
        ];
        for (headers, expected) in cases {
            assert_eq!(
                client_address(local, headers.iter().copied(), &t),
                ip(expected),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn an_untrusted_peers_forwarded_for_is_ignored() {
        let peer = ip("198.51.100.9");
        for t in [trusted(""), trusted("127.0.0.1")] {
            assert_eq!(client_address(peer, ["203.0.113.5"], &t), peer);
        }
        // An IPv4 peer on a dual-stack socket is still that IPv4 address.
        assert_eq!(
            client_address(
                ip("::ffff:127.0.0.1"),
                ["203.0.113.5"],
                &trusted("127.0.0.1")
            ),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_by_the_address() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2::ffff")), ip("2001:db8:1:2::"));
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("203.0.113.5")), ip("203.0.113.5"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.5")), ip("203.0.113.5"));
    }

    #[test]
    fn the_limiter_counts_per_network_and_forgets_refilled_clients() {
        let clock = FakeRelativeClock::default();
        let limiter = ClientLimiter::with_clock(
            Quota::per_minute(NonZeroU32::new(2).unwrap()),
            clock.clone(),
        );
        assert!(limiter.check(ip("2001:db8::1")));
        assert!(limiter.check(ip("2001:db8::2")));
        assert!(!limiter.check(ip("2001:db8::3")));
        assert!(limiter.check(ip("2001:db8:0:1::1")));

        // A crowd of one-time clients...
        for n in 0..(PRUNE_EVERY as u32) {
            limiter.check(IpAddr::V4(n.into()));
        }
        assert!(limiter.len() > PRUNE_EVERY as usize / 2);
        // ...is forgotten once their quota has refilled and the limiter next cleans up.
        clock.advance(Duration::from_secs(61));
        for _ in 0..PRUNE_EVERY {
            limiter.check(ip("203.0.113.5"));
        }
        assert!(limiter.len() <= 2, "{} keys left", limiter.len());
    }
}
