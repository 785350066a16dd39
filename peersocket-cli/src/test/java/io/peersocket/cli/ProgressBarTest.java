package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void plainLinesShowBytesRateAndEtaAtMostOncePerSecond() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar("get", new PrintStream(buf, true, StandardCharsets.UTF_8), false);
        bar.update(Map.of("bytes", 1L << 20, "totalBytes", 4L << 20, "chunks", 256, "elapsedMs", 1000));
        bar.update(Map.of("bytes", 2L << 20, "totalBytes", 4L << 20, "chunks", 512, "elapsedMs", 1500)); // too soon
        bar.update(Map.of("bytes", 3L << 20, "totalBytes", 4L << 20, "chunks", 768, "elapsedMs", 2000));
        bar.done(4L << 20, 1025, 2500);
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).isEqualTo("get:  25% 1.0 MiB of 4.0 MiB, 256 chunks, 256 chunks/s, ETA 3s");
        assertThat(lines[1]).isEqualTo("get:  75% 3.0 MiB of 4.0 MiB, 768 chunks, 384 chunks/s, ETA 1s");
        assertThat(lines[2]).isEqualTo("get: done, 4.0 MiB, 1,025 chunks in 2.5s (1.6 MiB/s, 410 chunks/s)");
    }

    @Test
    void terminalRedrawsOneLineWithABar() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar("share", new PrintStream(buf, true, StandardCharsets.UTF_8), true);
        bar.update(512, 1024, 1, 10);
        bar.update(1024, 1024, 2, 20);
        bar.done(1024, 2, 20);
        String s = buf.toString(StandardCharsets.UTF_8);
        // No rate or ETA in the first half second.
        assertThat(s).startsWith("\rshare: [############............]  50% 512 B of 1.0 KiB, 1 chunks\u001b[K");
        assertThat(s).contains("\rshare: [########################] 100%").endsWith("\u001b[K\n");
        assertThat(s.chars().filter(c -> c == '\n').count()).isEqualTo(1);
    }

    @Test
    void durations() {
        assertThat(ProgressBar.duration(250)).isEqualTo("250 ms");
        assertThat(ProgressBar.duration(59_000)).isEqualTo("59.0s");
        assertThat(ProgressBar.duration(2_500)).isEqualTo("2.5s");
        assertThat(ProgressBar.duration(61_000)).isEqualTo("1:01");
        assertThat(ProgressBar.duration(3_600_000)).isEqualTo("1:00:00");
        assertThat(ProgressBar.size(1536)).isEqualTo("1.5 KiB");
    }
}
