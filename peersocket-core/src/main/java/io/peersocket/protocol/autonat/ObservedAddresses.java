package io.peersocket.protocol.autonat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.util.Counters;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * External-address candidates learned from identify's {@code observedAddr}: how peers see this node. A
 * candidate is confirmed when at least {@code threshold} distinct peers (by {@code PeerId}) currently report it;
 * a peer has one vote (its latest report replaces its earlier one), so one peer cannot confirm anything alone,
 * and votes expire after {@code ttlMs}. Reports are checked before they count: the address must be a QUIC
 * address ({@code /ip4|ip6/…/udp/PORT/quic-v1}, or {@code /memory/N} for the in-memory transport) with a
 * unicast, specified IP and a non-zero port; anything else is ignored and counted as
 * {@code autonat.observed.rejected.<reason>}.
 *
 * <p>Distinct peer ids, not distinct /24 subnets, are required (documented choice: a node's helpers may share
 * a subnet, and the first use is to find the address to test, which AutoNAT then checks by dialling; a forged
 * candidate only costs a refused or failed dial-back, never a wrong PUBLIC). Bounded: at most
 * {@link #MAX_VOTERS} voters tracked (oldest vote dropped).
 *
 * <p>Not thread-safe: owned by the event loop.
 */
public final class ObservedAddresses {
    /** Most peers whose votes are kept. */
    public static final int MAX_VOTERS = 256;

    private record Vote(Multiaddr address, long atMs) {}

    private final int threshold;
    private final long ttlMs;
    private final Counters counters;
    private final Map<PeerId, Vote> votes = new LinkedHashMap<>();

    /**
     * @param threshold distinct peers needed to confirm a candidate (≥ 1)
     * @param ttlMs how long a vote counts, in ms
     */
    public ObservedAddresses(int threshold, long ttlMs, Counters counters) {
        if (threshold < 1) throw new IllegalArgumentException("threshold must be ≥ 1: " + threshold);
        this.threshold = threshold;
        this.ttlMs = ttlMs;
        this.counters = counters;
    }

    /**
     * Records that {@code reporter} sees this node at {@code observed}.
     *
     * @return true if the report was accepted as a vote
     */
    public boolean record(PeerId reporter, Multiaddr observed, long nowMs) {
        String reason = check(observed);
        if (reason != null) {
            counters.increment("autonat.observed.rejected." + reason);
            return false;
        }
        Multiaddr addr = observed.withoutPeerId();
        votes.remove(reporter);
        votes.put(reporter, new Vote(addr, nowMs));
        while (votes.size() > MAX_VOTERS) {
            Iterator<PeerId> it = votes.keySet().iterator();
            it.next();
            it.remove();
        }
        counters.increment("autonat.observed.accepted");
        return true;
    }

    /** Forgets the vote of {@code reporter} (e.g. found to be lying). */
    public void forget(PeerId reporter) { votes.remove(reporter); }

    /** Confirmed external addresses, most votes first. */
    public List<Multiaddr> confirmed(long nowMs) {
        Map<Multiaddr, Integer> counts = counts(nowMs);
        List<Multiaddr> out = new ArrayList<>();
        for (Map.Entry<Multiaddr, Integer> e : counts.entrySet()) if (e.getValue() >= threshold) out.add(e.getKey());
        out.sort(Comparator.comparing((Multiaddr a) -> -counts.get(a)).thenComparing(Multiaddr::toString));
        return out;
    }

    /** Current (unexpired) votes per candidate address. */
    public Map<Multiaddr, Integer> counts(long nowMs) {
        votes.values().removeIf(v -> nowMs - v.atMs() > ttlMs);
        Map<Multiaddr, Integer> counts = new HashMap<>();
        for (Vote v : votes.values()) counts.merge(v.address(), 1, Integer::sum);
        return counts;
    }

    /** Why {@code a} cannot be an observed address of ours, or null if it can. */
    static String check(Multiaddr a) {
        if (a == null) return "missing";
        List<Multiaddr.Component> cs = a.withoutPeerId().components();
        if (cs.size() == 1 && cs.get(0).protocol() == Protocol.MEMORY) return null;
        if (cs.size() != 3 || cs.get(1).protocol() != Protocol.UDP || cs.get(2).protocol() != Protocol.QUIC_V1) {
            return "shape";
        }
        Protocol p = cs.get(0).protocol();
        if (p != Protocol.IP4 && p != Protocol.IP6) return "shape";
        if ("0".equals(cs.get(1).value())) return "port";
        InetAddress ip;
        try {
            ip = InetAddress.getByAddress(cs.get(0).rawValue());
        } catch (UnknownHostException e) {
            return "ip";
        }
        if (ip.isAnyLocalAddress() || ip.isMulticastAddress() || ip.isLinkLocalAddress()) return "ip";
        return null;
    }
}
