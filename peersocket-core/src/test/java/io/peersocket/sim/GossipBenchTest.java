package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A small run of the pubsub benchmark: every message reaches every node, duplicates stay within the target. */
class GossipBenchTest {

    @Test
    void fiftyNodesGetEveryMessage() {
        GossipBench.Result r = GossipBench.run(GossipBench.Settings.defaults().withNodes(50).withMessages(10));
        assertThat(r.deliveryRate()).as(r.report()).isEqualTo(1.0);
        assertThat(r.fullyDelivered()).isEqualTo(10);
        assertThat(r.meshSizes()[0]).as("smallest mesh").isGreaterThanOrEqualTo(4);
        // a node gets at most one copy from each mesh peer (plus the publisher's flood copies): duplicates stay
        // below the mean mesh size
        double meanMesh = java.util.Arrays.stream(r.meshSizes()).average().orElseThrow();
        assertThat(r.duplicatesPerMessagePerNode()).as(r.report()).isPositive().isLessThan(meanMesh);
        // full delivery takes a few hops of 10-50 ms links, never less than one
        assertThat(r.fullDeliveryMs()[0]).isGreaterThanOrEqualTo(10);
        assertThat(r.stats().foreignSubmissions()).isZero();
        assertThat(r.report()).contains("duplicates per message per node");
        // every duplicate is counted once by source, and IDONTWANT went out for the 1 KiB messages
        assertThat(r.counter("pubsub.message.duplicate.crossed") + r.counter("pubsub.message.duplicate.mesh")
                + r.counter("pubsub.message.duplicate.author") + r.counter("pubsub.message.duplicate.other"))
                .isEqualTo(r.counter("pubsub.message.duplicate"));
        assertThat(r.counter("pubsub.idontwant.sent")).isPositive();
    }

    @Test
    void withFiniteUplinksIDontWantSavesCopies() {
        GossipBench.Settings s = GossipBench.Settings.defaults().withNodes(30).withMessages(10).withUplinkMbps(10);
        GossipBench.Result with = GossipBench.run(s);
        GossipBench.Result without = GossipBench.run(s.withIDontWant(false));
        assertThat(with.deliveryRate()).as(with.report()).isEqualTo(1.0);
        assertThat(without.counter("pubsub.idontwant.skipped")).isZero();
        // a peer's IDONTWANT (small, sent first) overtakes its own copy still queued on its uplink; a node that got
        // the message from a third peer in between then skips that peer
        assertThat(with.counter("pubsub.idontwant.skipped")).as(with.report()).isPositive();
        assertThat(with.duplicatesPerMessagePerNode()).as(with.report() + without.report())
                .isLessThan(without.duplicatesPerMessagePerNode());
    }

    @Test
    @Tag("slow")
    void thousandNodesGetEveryMessage() {
        GossipBench.Result r = GossipBench.run(GossipBench.Settings.defaults().withNodes(1000).withMessages(10));
        assertThat(r.deliveryRate()).as(r.report()).isEqualTo(1.0);
        assertThat(r.meshSizes()[0]).as("smallest mesh").isGreaterThanOrEqualTo(4);
        assertThat(r.meshSizes()[r.meshSizes().length - 1]).as("largest mesh").isLessThanOrEqualTo(12);
        assertThat(r.stats().failedTasks()).isZero();
    }
}
