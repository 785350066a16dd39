package io.peersocket.protocol.snapshot;

import java.util.Arrays;

/**
 * A message recorded in a channel's state: sent before the sender recorded its state, received after the
 * receiver recorded its own.
 *
 * @param type despatch message type
 * @param id the sender's message id
 * @param payload the payload (not copied: do not modify)
 */
public record ChannelMessage(int type, long id, byte[] payload) {
    @Override public boolean equals(Object o) {
        return o instanceof ChannelMessage m && m.type == type && m.id == id && Arrays.equals(m.payload, payload);
    }

    @Override public int hashCode() { return Long.hashCode(id) * 31 + type; }

    @Override public String toString() { return "ChannelMessage[type=" + type + ", id=" + id + ", " + payload.length + " bytes]"; }
}
