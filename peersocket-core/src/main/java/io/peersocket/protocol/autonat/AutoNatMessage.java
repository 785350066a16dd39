package io.peersocket.protocol.autonat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;
import java.util.Objects;

/** A decoded AutoNAT v1 message (libp2p specs autonat/autonat-v1.md): a dial request or its response. */
public sealed interface AutoNatMessage {

    /** Response status codes, with their wire numbers. */
    enum Status {
        OK(0), E_DIAL_ERROR(100), E_DIAL_REFUSED(101), E_BAD_REQUEST(200), E_INTERNAL_ERROR(300);

        private final int code;

        Status(int code) { this.code = code; }

        public int code() { return code; }
    }

    /**
     * {@code DIAL}: please dial me back on these addresses.
     *
     * @param peer the requester's claimed peer id (must equal the stream's authenticated peer), or null if absent
     * @param addresses parseable addresses, at most {@link AutoNatCodec#MAX_ADDRESSES}
     * @param skipped addresses the decoder could not parse (left out)
     */
    record Dial(PeerId peer, List<Multiaddr> addresses, int skipped) implements AutoNatMessage {
        public Dial {
            addresses = List.copyOf(addresses);
        }
    }

    /**
     * {@code DIAL_RESPONSE}.
     *
     * @param text human-readable status text (at most {@link AutoNatCodec#MAX_STATUS_TEXT} chars; may be empty)
     * @param address the address that was dialled successfully, or null
     */
    record DialResponse(Status status, String text, Multiaddr address) implements AutoNatMessage {
        public DialResponse {
            Objects.requireNonNull(status, "status");
            text = text == null ? "" : text;
        }
    }
}
