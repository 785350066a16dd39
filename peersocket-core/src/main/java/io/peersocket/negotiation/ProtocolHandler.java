package io.peersocket.negotiation;

import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;

/** Serves one protocol id on streams the remote opened, after multistream-select chose it. */
@FunctionalInterface
public interface ProtocolHandler {
    /**
     * The stream now speaks this protocol. Runs on the event loop. Return the handler for the stream's
     * further data (never null).
     */
    StreamHandler onNegotiated(Stream stream, String protocolId);
}
