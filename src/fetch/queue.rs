//! The order in which a cycle starts its fetches: round robin over hosts, with
//! never more than `per_host` sources of one host in the works at once. A
//! platform that hosts hundreds of municipalities then gets its share of the
//! cycle's slots and no more, and the other hosts are fetched alongside it
//! instead of after it.

use std::collections::{HashMap, VecDeque};

use url::Url;

/// Sources waiting for a fetch slot, grouped by host.
pub struct HostQueue<T> {
    per_host: usize,
    waiting: HashMap<String, VecDeque<T>>,
    /// Hosts with work waiting and room for more, in the order they get their
    /// next turn. A host is here exactly when both hold.
    turns: VecDeque<String>,
    running: HashMap<String, usize>,
}

impl<T> HostQueue<T> {
    pub fn new(per_host: usize) -> HostQueue<T> {
        HostQueue {
            per_host: per_host.max(1),
            waiting: HashMap::new(),
            turns: VecDeque::new(),
            running: HashMap::new(),
        }
    }

    /// Queues `item` behind the other work of `host`.
    pub fn push(&mut self, host: String, item: T) {
        let queue = self.waiting.entry(host.clone()).or_default();
        queue.push_back(item);
        let running = self.running.get(&host).copied().unwrap_or(0);
        if queue.len() == 1 && running < self.per_host {
            self.turns.push_back(host);
        }
    }

    /// Starts the next item of the next host in turn that has room: it counts as running
    /// until [`HostQueue::done`] is called with its host.
    pub fn start_next(&mut self) -> Option<(String, T)> {
        let host = self.turns.pop_front()?;
        let queue = self.waiting.get_mut(&host)?;
        let item = queue.pop_front()?;
        let more = !queue.is_empty();
        if !more {
            self.waiting.remove(&host);
        }
        let running = self.running.entry(host.clone()).or_insert(0);
        *running += 1;
        if more && *running < self.per_host {
            self.turns.push_back(host.clone());
        }
        Some((host, item))
    }

    /// One item of `host` has finished: the host may take another turn.
    pub fn done(&mut self, host: &str) {
        let Some(running) = self.running.get_mut(host) else {
            return;
        };
        let was_full = *running >= self.per_host;
        *running = running.saturating_sub(1);
        if *running == 0 {
            self.running.remove(host);
        }
        if was_full && self.waiting.contains_key(host) {
            self.turns.push_back(host.to_owned());
        }
    }
}

/// The host a fetch of `url` is limited by: the same key the fetcher's own
/// per-host gate uses. A URL that does not parse gets the empty host; its
/// fetch fails at once anyway.
pub fn host_key(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_ready(q: &mut HostQueue<u32>) -> Vec<(String, u32)> {
        std::iter::from_fn(|| q.start_next()).collect()
    }

    #[test]
    fn a_giant_host_takes_turns_with_the_others_and_never_exceeds_its_limit() {
        let mut q = HostQueue::new(2);
        for n in 0..100 {
            q.push("giant".into(), n);
        }
        q.push("a".into(), 1000);
        q.push("b".into(), 2000);
        let first = drain_ready(&mut q);
        let hosts: Vec<&str> = first.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(hosts, ["giant", "a", "b", "giant"]);
        // Full: nothing more starts until one of the giant's fetches ends.
        assert!(q.start_next().is_none());
        q.done("giant");
        assert_eq!(q.start_next(), Some(("giant".to_string(), 2)));
        assert!(q.start_next().is_none());
    }

    #[test]
    fn every_item_comes_out_once_in_its_hosts_order() {
        let mut q = HostQueue::new(1);
        for n in 0..5 {
            q.push(format!("h{}", n % 2), n);
        }
        let mut out = Vec::new();
        while let Some((host, n)) = q.start_next() {
            out.push(n);
            q.done(&host);
        }
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn hosts_come_from_the_url() {
        assert_eq!(host_key("https://bip.gmina.pl/rss?x=1"), "bip.gmina.pl");
        assert_eq!(host_key("http://127.0.1.7:8080/feed"), "127.0.1.7");
        assert_eq!(host_key("not a url"), "");
    }
}
