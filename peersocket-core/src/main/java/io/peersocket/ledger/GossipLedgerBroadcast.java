package io.peersocket.ledger;

import io.peersocket.protocol.pubsub.GossipSub;
import io.peersocket.protocol.pubsub.ValidationResult;
import io.peersocket.util.Counters;

/**
 * {@link LedgerBroadcast} over GossipSub ({@code /meshsub/1.2.0}): {@link #publish} is {@link GossipSub#publish};
 * {@link #subscribe} joins the topic and installs the ledger handler as the topic's validator (it runs on the
 * node's event loop before delivery and forwarding), mapping {@link LedgerBroadcast.Verdict} to
 * {@link ValidationResult} one to one — so only what the ledger accepts as new is forwarded, and rejected messages
 * count against the sender's GossipSub score (P4) as well as its ledger score. The handler's {@code from} is the
 * peer the message was received from.
 */
public final class GossipLedgerBroadcast implements LedgerBroadcast {
    private final GossipSub pubsub;
    private final Counters counters;

    public GossipLedgerBroadcast(GossipSub pubsub, Counters counters) {
        this.pubsub = pubsub;
        this.counters = counters;
    }

    @Override public void publish(String topic, byte[] data) {
        pubsub.publish(topic, data).exceptionally(e -> {
            counters.increment("ledger.bcast.publish_failed");
            return null;
        });
    }

    @Override public void subscribe(String topic, Handler handler) {
        pubsub.addValidator(topic, m -> switch (handler.onMessage(m.receivedFrom(), m.data())) {
            case ACCEPT -> ValidationResult.ACCEPT;
            case REJECT -> ValidationResult.REJECT;
            case IGNORE -> ValidationResult.IGNORE;
        });
        pubsub.subscribe(topic, m -> { }); // delivery happens in the validator, on the loop
    }
}
