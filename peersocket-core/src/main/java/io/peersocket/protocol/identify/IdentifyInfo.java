package io.peersocket.protocol.identify;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;

/**
 * What a peer says about itself in identify. Listen addresses the decoder could not parse are left out
 * (counted in {@code skippedAddresses}).
 *
 * @param observedAddress how the remote sees us, or null
 */
public record IdentifyInfo(
        PeerId peer,
        PublicKey publicKey,
        String protocolVersion,
        String agentVersion,
        List<Multiaddr> listenAddresses,
        Multiaddr observedAddress,
        List<String> protocols,
        int skippedAddresses) {}
