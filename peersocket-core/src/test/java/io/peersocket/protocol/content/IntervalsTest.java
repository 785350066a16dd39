package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.store.Store;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IntervalsTest {

    @Test
    void rangesMergeAndGapsAreFound() {
        Intervals iv = new Intervals();
        iv.add(5, 9);
        iv.add(1, 2);
        iv.add(3, 3); // adjacent: merges 1-3 with 5-9? no, 4 is missing
        assertThat(iv.toString()).isEqualTo("[1-3, 5-9]");
        assertThat(iv.firstGap(1, 20)).containsExactly(4, 4);
        assertThat(iv.firstGap(1, 3)).isNull();
        iv.add(4, 4);
        assertThat(iv.toString()).isEqualTo("[1-9]");
        assertThat(iv.firstGap(1, 20)).containsExactly(10, 20);
        iv.add(12, 15);
        iv.add(8, 13);
        assertThat(iv.toString()).isEqualTo("[1-15]");
        assertThat(iv.contiguousEnd()).isEqualTo(15);
        assertThat(iv.covers(15)).isTrue();
        assertThat(iv.covers(16)).isFalse();
        iv.add(20, 19); // empty: ignored
        assertThat(iv.size()).isEqualTo(1);
    }

    @Test
    void blobRoundTripsAndDamagedBlobsKeepWhatDecodes() {
        Intervals iv = new Intervals();
        iv.add(1, 10);
        iv.add(20, 30);
        iv.add(1000, 1000);
        assertThat(IntervalStore.decode(IntervalStore.encode(iv)).toString()).isEqualTo("[1-10, 20-30, 1000-1000]");
        byte[] blob = IntervalStore.encode(iv);
        assertThat(IntervalStore.decode(java.util.Arrays.copyOf(blob, blob.length - 1)).toString()).isEqualTo("[1-10, 20-30]");
        assertThat(IntervalStore.decode(new byte[] {0, 5}).size()).isZero(); // start 0 is not an index
    }

    @Test
    void sqliteIntervalsSurviveReopeningTheStore(@TempDir Path dir) throws Exception {
        PeerId up = HostKey.fromSeed(new byte[32]).peerId();
        Intervals iv = new Intervals();
        iv.add(1, 128);
        iv.add(300, 420);
        try (Store store = Store.open(dir)) {
            IntervalStore s = IntervalStore.sqlite(store);
            s.save(up, 7, iv).get(10, TimeUnit.SECONDS);
            iv.add(129, 299);
            s.save(up, 7, iv).get(10, TimeUnit.SECONDS); // replaces
            assertThat(s.load(up, 8).get(10, TimeUnit.SECONDS).size()).isZero();
        }
        try (Store store = Store.open(dir)) {
            assertThat(IntervalStore.sqlite(store).load(up, 7).get(10, TimeUnit.SECONDS).toString()).isEqualTo("[1-420]");
        }
    }

    @Test
    void allListsEveryUpstreamAndBinInOrder(@TempDir Path dir) throws Exception {
        PeerId a = HostKey.fromSeed(new byte[32]).peerId();
        byte[] seed = new byte[32];
        seed[0] = 1;
        PeerId b = HostKey.fromSeed(seed).peerId();
        Intervals one = new Intervals();
        one.add(1, 5);
        Intervals two = new Intervals();
        two.add(3, 9);
        try (Store store = Store.open(dir)) {
            for (IntervalStore s : java.util.List.of(IntervalStore.sqlite(store), IntervalStore.memory())) {
                s.save(b, 12, two).get(10, TimeUnit.SECONDS);
                s.save(a, 2, one).get(10, TimeUnit.SECONDS);
                s.save(a, 10, two).get(10, TimeUnit.SECONDS);
                java.util.List<String> got = s.all().get(10, TimeUnit.SECONDS).stream()
                        .map(e -> e.upstream() + "/" + e.bin() + "=" + e.intervals()).toList();
                java.util.List<PeerId> order = a.toString().compareTo(b.toString()) < 0 ? java.util.List.of(a, b) : java.util.List.of(b, a);
                java.util.List<String> want = new java.util.ArrayList<>();
                for (PeerId p : order) {
                    if (p.equals(a)) want.addAll(java.util.List.of(a + "/2=[1-5]", a + "/10=[3-9]"));
                    else want.add(b + "/12=[3-9]");
                }
                assertThat(got).containsExactlyElementsOf(want);
            }
        }
    }
}
