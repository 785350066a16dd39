package io.peersocket.protocol.pubsub;

import io.peersocket.identity.PeerId;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The gossipsub message cache (mcache, gossipsub-v1.0.md "Message Cache"): messages of the last
 * {@code historyLength} heartbeats for IWANT, ids of the last {@code historyGossip} heartbeats for IHAVE. Event loop
 * only.
 */
final class MessageCache {
    static final class Entry {
        final MessageId id;
        final String topic;
        final RpcProto.Message message;
        final Map<PeerId, Integer> sent = new HashMap<>(2);
        /** Peers this node pushed the message to (published, forwarded or answered by IWANT); null until one. */
        java.util.Set<PeerId> pushedTo;

        void pushed(PeerId p) {
            if (pushedTo == null) pushedTo = new java.util.HashSet<>();
            pushedTo.add(p);
        }

        boolean pushedTo(PeerId p) { return pushedTo != null && pushedTo.contains(p); }

        Entry(MessageId id, String topic, RpcProto.Message message) {
            this.id = id;
            this.topic = topic;
            this.message = message;
        }
    }

    private final int gossip;
    private final int length;
    private final ArrayDeque<List<Entry>> windows = new ArrayDeque<>();
    private final Map<MessageId, Entry> byId = new HashMap<>();

    MessageCache(int gossip, int length) {
        this.gossip = gossip;
        this.length = length;
        windows.addFirst(new ArrayList<>());
    }

    void put(MessageId id, String topic, RpcProto.Message message) {
        if (byId.containsKey(id)) return;
        Entry e = new Entry(id, topic, message);
        byId.put(id, e);
        windows.peekFirst().add(e);
    }

    Entry get(MessageId id) { return byId.get(id); }

    /** Ids of {@code topic} in the gossip windows, newest first. */
    List<MessageId> gossipIds(String topic) {
        List<MessageId> ids = new ArrayList<>();
        int w = 0;
        for (Iterator<List<Entry>> it = windows.iterator(); it.hasNext() && w < gossip; w++) {
            for (Entry e : it.next()) if (e.topic.equals(topic)) ids.add(e.id);
        }
        return ids;
    }

    /** Starts a new window (each heartbeat), dropping the oldest beyond the history length. */
    void shift() {
        windows.addFirst(new ArrayList<>());
        while (windows.size() > length) {
            for (Entry e : windows.removeLast()) byId.remove(e.id);
        }
    }

    int size() { return byId.size(); }
}
