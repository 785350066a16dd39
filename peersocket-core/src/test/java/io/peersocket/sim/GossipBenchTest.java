package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;

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
    }
}
