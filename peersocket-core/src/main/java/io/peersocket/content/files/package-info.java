/**
 * Files and directory trees as chunks (seed 001; issue 4 "Files"): {@link
 * io.peersocket.content.files.FileSplitter} cuts a stream into a 128-way chunk tree, {@link
 * io.peersocket.content.files.FileJoiner} streams it back checking every chunk and the tree's shape, {@link
 * io.peersocket.content.files.Manifest} lists shared files, and {@link io.peersocket.content.files.ContentFiles}
 * shares a path into a {@link io.peersocket.content.ChunkStore} and gets a ROOT back into a path through
 * pluggable fetch and push hooks (local store now; retrieval and push sync plug in). Formats: docs/wire.md.
 */
package io.peersocket.content.files;
