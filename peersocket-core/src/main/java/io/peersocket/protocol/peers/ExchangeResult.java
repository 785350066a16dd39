package io.peersocket.protocol.peers;

import io.peersocket.identity.PeerId;

/**
 * The outcome of one exchange session with a counterparty.
 *
 * @param peer the counterparty
 * @param entriesSent log entries sent (0 when it was already up to date)
 * @param batches delta messages sent
 * @param startedOver true if the counterparty asked to start over (it lost its data) and was sent the whole log
 * @param cursor the counterparty's cursor after the session: it has our log up to this sequence number
 */
public record ExchangeResult(PeerId peer, int entriesSent, int batches, boolean startedOver, long cursor) {}
