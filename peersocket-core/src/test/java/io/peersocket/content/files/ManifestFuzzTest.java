package io.peersocket.content.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.content.InvalidChunkException;

/**
 * Jazzer target for {@link Manifest#decode}: any input either decodes or fails with
 * {@link InvalidChunkException} (nothing else may escape), and a decoded manifest re-encodes to exactly the
 * input (the encoding is canonical: sorted, no trailing bytes, zero roots for directories). Regression mode
 * runs the seeds in {@code ManifestFuzzTestInputs/decode} under plain JUnit.
 */
class ManifestFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        Manifest m;
        try {
            m = Manifest.decode(data);
        } catch (InvalidChunkException expected) {
            assertThat(expected.getMessage()).isNotBlank();
            return;
        }
        assertThat(m.encode()).isEqualTo(data);
        for (Manifest.Entry e : m.entries()) {
            assertThat(e.path()).doesNotStartWith("/").doesNotContain("//");
            assertThat(e.path().split("/")).doesNotContain("..", ".");
        }
    }
}
