//! View lifetimes: how long a view a client let go of stays in memory, on a
//! clock that runs only while the client is connected.

use std::collections::HashMap;
use std::time::Duration;

use ssp_cvr::{ClientId, Timestamp, ViewId};

/// How long a client's hold on a view lasts once the client lets go of it
/// (drops its subscription): the view's lifetime category.
///
/// A released hold lasts for the category's time to live ([`Ttls`]), on
/// the client's own clock, which stops while the client is disconnected: a
/// laptop closed overnight does not come back to find every view it had
/// open expired. While the client is connected, the hold keeps the view in
/// memory, stepped and ready, so that coming back to it (a user navigating
/// back) gets the minimal diff at once; while it is disconnected, the hold
/// keeps the view the client's (its CVR kept) but not in memory: a view no
/// connected client holds is evicted, and rebuilt when one subscribes to it
/// again. When the hold expires, the client's CVR of the view can go. Longer categories
/// order after shorter ones; a client that holds a view under two
/// categories holds it under the longer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Lifetime {
    /// Let go of at once (a search box's results, a one-off lookup).
    Ephemeral,
    /// Kept for a while after the client leaves it (a screen the user may
    /// go back to). The default.
    #[default]
    Navigational,
    /// Loaded ahead of need and kept longer (what the next screens show).
    Preload,
    /// Never expires and keeps the view in memory even while the client is
    /// disconnected, until the client is [forgotten](crate::Engine::forget)
    /// (dashboards, views a server keeps for itself).
    Permanent,
}

/// The time to live of each [`Lifetime`], measured on a client's connected
/// time, and how long a disconnected client is remembered.
///
/// | category | default |
/// |---|---|
/// | [`Lifetime::Ephemeral`] | 0 (let go of at the next expiry) |
/// | [`Lifetime::Navigational`] | 30 s |
/// | [`Lifetime::Preload`] | 5 min |
/// | [`Lifetime::Permanent`] | never |
/// | a disconnected client's open subscriptions ([`disconnect_grace`](Self::disconnect_grace)) | 0 (released at once) |
/// | a disconnected client's holds ([`forget_after`](Self::forget_after)) | 7 days |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ttls {
    /// Time to live of an [`Lifetime::Ephemeral`] hold. Default: 0.
    pub ephemeral: Duration,
    /// Time to live of a [`Lifetime::Navigational`] hold. Default: 30 s.
    pub navigational: Duration,
    /// Time to live of a [`Lifetime::Preload`] hold. Default: 5 min.
    pub preload: Duration,
    /// A client disconnected for this long (wall time) is forgotten with
    /// its holds, but for its permanent ones. Default: 7 days.
    pub forget_after: Duration,
    /// For this long (wall time) after a client disconnects, the
    /// subscriptions it had open keep their views in memory, as if still
    /// open (even past [`forget_after`](Self::forget_after), were it
    /// shorter): a connection that blips (a mobile client changing
    /// networks) comes back to its views without a rehydration, whichever
    /// it subscribes to first. After it, each that was not opened again is
    /// released as at the disconnect. Default: 0.
    pub disconnect_grace: Duration,
}

impl Default for Ttls {
    fn default() -> Self {
        Ttls {
            ephemeral: Duration::ZERO,
            navigational: Duration::from_secs(30),
            preload: Duration::from_secs(5 * 60),
            forget_after: Duration::from_secs(7 * 24 * 60 * 60),
            disconnect_grace: Duration::ZERO,
        }
    }
}

impl Ttls {
    /// With the time to live of [`Lifetime::Ephemeral`] holds.
    pub fn ephemeral(mut self, ttl: Duration) -> Self {
        self.ephemeral = ttl;
        self
    }

    /// With the time to live of [`Lifetime::Navigational`] holds.
    pub fn navigational(mut self, ttl: Duration) -> Self {
        self.navigational = ttl;
        self
    }

    /// With the time to live of [`Lifetime::Preload`] holds.
    pub fn preload(mut self, ttl: Duration) -> Self {
        self.preload = ttl;
        self
    }

    /// With how long a disconnected client is remembered.
    pub fn forget_after(mut self, after: Duration) -> Self {
        self.forget_after = after;
        self
    }

    /// With how long a disconnected client's open subscriptions keep their
    /// views in memory.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssp_runtime::Ttls;
    /// let ttls = Ttls::default().disconnect_grace(Duration::from_secs(10));
    /// assert_eq!(ttls.disconnect_grace, Duration::from_secs(10));
    /// ```
    pub fn disconnect_grace(mut self, grace: Duration) -> Self {
        self.disconnect_grace = grace;
        self
    }

    /// The time to live of `lifetime` (`None`: never).
    pub fn ttl(&self, lifetime: Lifetime) -> Option<Duration> {
        self.millis(lifetime).map(Duration::from_millis)
    }

    /// The time to live of `lifetime`, in milliseconds (`None`: never).
    fn millis(&self, lifetime: Lifetime) -> Option<u64> {
        let ttl = match lifetime {
            Lifetime::Ephemeral => self.ephemeral,
            Lifetime::Navigational => self.navigational,
            Lifetime::Preload => self.preload,
            Lifetime::Permanent => return None,
        };
        Some(millis(ttl))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What [`Engine::expire`](crate::Engine::expire) let go of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expired {
    /// Views evicted: their state is freed (their clients' CVRs are kept);
    /// subscribing to one again rebuilds it.
    pub evicted: Vec<ViewId>,
    /// Holds that expired: the client no longer holds the view, and its CVR
    /// of it can be dropped (a later subscription starts from nothing).
    pub dropped: Vec<Dropped>,
}

/// A client's hold on a view that expired.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Dropped {
    /// The client.
    pub client: ClientId,
    /// The view.
    pub view: ViewId,
    /// When (on the caller's clock) the client let go of its last
    /// subscription of the view: a CVR of the view written after that
    /// was written by another engine the client moved to, and is not this
    /// hold's to drop.
    pub released: Timestamp,
}

/// One client's hold on one view.
#[derive(Clone, Copy, Debug)]
struct Hold {
    lifetime: Lifetime,
    /// Open subscriptions.
    open: u32,
    /// The client's clock when the last one closed.
    released: u64,
    /// The caller's clock then.
    released_at: Timestamp,
    /// Whether it was open when its client disconnected (and has not been
    /// opened since): for [`Ttls::disconnect_grace`] after `released_at` it
    /// keeps its view as if open, whether or not the client is back.
    paused: bool,
}

/// One client's holds, with its TTL clock.
#[derive(Debug)]
struct Client {
    /// Connected time, in ms, before `since` (if connected).
    ran: u64,
    /// When the client last connected or disconnected.
    since: Timestamp,
    connected: bool,
    holds: HashMap<ViewId, Hold>,
}

impl Client {
    /// The client's TTL clock: its connected time, in ms.
    fn clock(&self, now: Timestamp) -> u64 {
        if self.connected { self.ran.saturating_add(now.0.saturating_sub(self.since.0)) } else { self.ran }
    }

    fn connect(&mut self, now: Timestamp) {
        if !self.connected {
            self.connected = true;
            self.since = now;
        }
    }
}

impl Hold {
    /// Whether the hold was open at its client's disconnect less than
    /// `grace` ago.
    fn in_grace(&self, now: Timestamp, grace: u64) -> bool {
        self.paused && now.0.saturating_sub(self.released_at.0) < grace
    }
}

/// The holds of every client, by client, and how many holds name each view.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    ttls: Ttls,
    clients: HashMap<ClientId, Client>,
    /// Holds naming each view, resident or evicted.
    named: HashMap<ViewId, u32>,
}

impl Holds {
    pub(crate) fn new(ttls: Ttls) -> Self {
        Holds { ttls, clients: HashMap::new(), named: HashMap::new() }
    }

    pub(crate) fn ttls(&self) -> &Ttls {
        &self.ttls
    }

    /// Whether some client holds `view` (open, lingering or paused).
    pub(crate) fn names(&self, view: &ViewId) -> bool {
        self.named.contains_key(view)
    }

    fn client(&mut self, client: &ClientId, now: Timestamp) -> &mut Client {
        self.clients.entry(client.clone()).or_insert_with(|| Client {
            ran: 0,
            since: now,
            connected: true,
            holds: HashMap::new(),
        })
    }

    /// `client` connects (its TTL clock runs again).
    pub(crate) fn connect(&mut self, client: &ClientId, now: Timestamp) {
        self.client(client, now).connect(now);
    }

    /// `client` disconnects: its clock stops and its open holds are
    /// released.
    pub(crate) fn disconnect(&mut self, client: &ClientId, now: Timestamp) {
        // A client already away stays away since it left.
        let Some(c) = self.clients.get_mut(client).filter(|c| c.connected) else { return };
        let clock = c.clock(now);
        for hold in c.holds.values_mut() {
            if hold.open > 0 {
                hold.open = 0;
                hold.released = clock;
                hold.released_at = now;
                hold.paused = true;
            }
        }
        c.ran = clock;
        c.since = now;
        c.connected = false;
    }

    /// `client` opens a subscription to `view` (connecting it).
    pub(crate) fn open(&mut self, client: &ClientId, view: &ViewId, lifetime: Lifetime, now: Timestamp) {
        let c = self.client(client, now);
        c.connect(now);
        let fresh = !c.holds.contains_key(view);
        let hold = c.holds.entry(view.clone()).or_insert(Hold {
            lifetime,
            open: 0,
            released: 0,
            released_at: now,
            paused: false,
        });
        // The longest lifetime of the open subscriptions: a hold taken up
        // again after its release takes the new subscription's.
        hold.lifetime = if hold.open == 0 { lifetime } else { hold.lifetime.max(lifetime) };
        hold.open += 1;
        hold.paused = false;
        if fresh {
            *self.named.entry(view.clone()).or_default() += 1;
        }
    }

    /// `client` closes a subscription to `view`; false if it had none open.
    pub(crate) fn close(&mut self, client: &ClientId, view: &ViewId, now: Timestamp) -> bool {
        let Some(c) = self.clients.get_mut(client) else { return false };
        let clock = c.clock(now);
        match c.holds.get_mut(view) {
            Some(hold) if hold.open > 0 => {
                hold.open -= 1;
                if hold.open == 0 {
                    hold.released = clock;
                    hold.released_at = now;
                }
                true
            }
            _ => false,
        }
    }

    /// Drops every hold of `client`; returns the views they named.
    pub(crate) fn forget(&mut self, client: &ClientId) -> Vec<ViewId> {
        let Some(c) = self.clients.remove(client) else { return Vec::new() };
        let views: Vec<ViewId> = c.holds.into_keys().collect();
        for view in &views {
            self.unname(view);
        }
        views
    }

    fn unname(&mut self, view: &ViewId) {
        if let Some(n) = self.named.get_mut(view) {
            *n -= 1;
            if *n == 0 {
                self.named.remove(view);
            }
        }
    }

    /// Drops the holds that expired at `now` (and those of clients
    /// disconnected for longer than [`Ttls::forget_after`], but for their
    /// permanent ones); returns them.
    pub(crate) fn expire(&mut self, now: Timestamp) -> Vec<Dropped> {
        let ttls = self.ttls;
        let forget = millis(ttls.forget_after);
        let grace = millis(ttls.disconnect_grace);
        let mut dropped = Vec::new();
        for (id, c) in &mut self.clients {
            let clock = c.clock(now);
            let forgotten = !c.connected && now.0.saturating_sub(c.since.0) >= forget;
            c.holds.retain(|view, hold| {
                let expired = hold.open == 0
                    && !hold.in_grace(now, grace)
                    && match ttls.millis(hold.lifetime) {
                        None => false,
                        Some(ttl) => forgotten || clock >= hold.released.saturating_add(ttl),
                    };
                if expired {
                    dropped.push(Dropped { client: id.clone(), view: view.clone(), released: hold.released_at });
                }
                !expired
            });
        }
        // A client without holds has nothing to remember (it starts again,
        // connected, with its next subscription).
        self.clients.retain(|_, c| !c.holds.is_empty());
        for d in &dropped {
            self.unname(&d.view);
        }
        dropped.sort();
        dropped
    }

    /// Whether some hold keeps `view` in memory: one open, one permanent,
    /// one released by a connected client whose TTL has not run out, or one
    /// open when its client disconnected less than
    /// [`Ttls::disconnect_grace`] ago (the other holds of a disconnected
    /// client keep nothing in memory; they keep the view the client's, to be
    /// rebuilt when it comes back).
    pub(crate) fn pinned(&self, now: Timestamp) -> std::collections::HashSet<&ViewId> {
        let mut pinned = std::collections::HashSet::new();
        let grace = millis(self.ttls.disconnect_grace);
        for c in self.clients.values() {
            let clock = c.clock(now);
            for (view, hold) in &c.holds {
                let lingers = c.connected
                    && self.ttls.millis(hold.lifetime).is_none_or(|ttl| clock < hold.released.saturating_add(ttl));
                if hold.open > 0 || hold.lifetime == Lifetime::Permanent || lingers || hold.in_grace(now, grace) {
                    pinned.insert(view);
                }
            }
        }
        pinned
    }
}
