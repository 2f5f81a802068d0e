# The sync protocol: the handshake, change-set files, and the RPC interfaces.
# Transactions travel as their log bodies (core/txn.capnp, packed), unchanged.
@0xcef8ed7cff101709;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("parley::wire");

struct VectorEntry {
  site @0 :Data;  # 16-byte site id
  seq @1 :UInt64;
}

struct Ack {
  site @0 :Data;
  vector @1 :List(VectorEntry);
}

# The newest transaction a site holds of one origin, and its hash chain hash.
struct ChainHead {
  site @0 :Data;
  seq @1 :UInt64;
  hash @2 :Data;  # 16 bytes, or empty if it has none
}

# A tracked table's state digest (32 hex digits).
struct TableDigest {
  table @0 :Text;
  digest @1 :Text;
}

# One SQLite value, for keys of tracked tables.
struct Value {
  union {
    null @0 :Void;
    integer @1 :Int64;
    real @2 :Float64;
    text @3 :Text;
    blob @4 :Data;
  }
}

# What Site::summarize says of a key range (parley/sync/verify.hpp).
struct RangeSummary {
  rows @0 :UInt64;
  digest @1 :Text;
  middle @2 :List(Value);  # empty: none
  keys @3 :List(KeyDigest);
  struct KeyDigest {
    key @0 :List(Value);
    digest @1 :Text;
  }
}

# What a site holds as a sync ends: compared by the other side when their vectors are equal.
struct State {
  vector @0 :List(VectorEntry);
  digests @1 :List(TableDigest);
}

# What each side says first. Sites of different clusters, protocol versions or schema
# fingerprints refuse each other before anything is exchanged.
struct Hello {
  protocolVersion @0 :UInt32;
  cluster @1 :Data;
  site @2 :Data;
  name @3 :Text;
  fingerprint @4 :Text;
  vector @5 :List(VectorEntry);
  acks @6 :List(Ack);
  heads @7 :List(ChainHead);      # per origin held: sites with another history are refused
  digests @8 :List(TableDigest);  # compared when both hold the same transactions
  forgotten @9 :List(Data);     # 16-byte ids of sites removed for good (parley forget)
}

# The header of a change-set file.
struct FileHeader {
  cluster @0 :Data;
  origin @1 :Data;          # the exporting site
  originName @2 :Text;
  fingerprint @3 :Text;
  since @4 :List(VectorEntry);  # what the recipient was assumed to hold
  upTo @5 :List(VectorEntry);   # what the exporter held
  transactions @6 :UInt64;
  createdMs @7 :UInt64;
  acks @8 :List(Ack);           # what the exporter knew every site held
  heads @9 :List(ChainHead);    # the exporter's chain heads (of upTo)
  digests @10 :List(TableDigest);  # the exporter's digests, for the state upTo
  forgotten @11 :List(Data);     # the sites the exporter knew were forgotten
}

# A bounded piece of a stream of transactions. A transaction's body may be split across
# consecutive pieces; the piece with `last` set completes it.
struct Chunk {
  pieces @0 :List(Piece);
  struct Piece {
    body @0 :Data;
    last @1 :Bool;
  }
}

# Receives a stream of transactions and applies them as they complete.
interface ChangeSink {
  write @0 (chunk :Chunk) -> stream;
  # Ends the stream: returns the receiver's vector and what it applied.
  finish @1 () -> (vector :List(VectorEntry), applied :UInt64, conflicts :UInt64);
}

# Receives the bytes of a database snapshot.
interface ByteSink {
  write @0 (bytes :Data) -> stream;
  finish @1 () -> ();
}

# A sync session, granted after authentication.
interface Session {
  hello @0 (hello :Hello) -> (hello :Hello);
  # The server streams to `sink` every transaction `since` lacks.
  pull @1 (since :List(VectorEntry), sink :ChangeSink) -> (sent :UInt64);
  # The client streams to the returned sink.
  push @2 () -> (sink :ChangeSink);
  # The server records the client's acknowledgements and returns its own. Each side sends its
  # state too: holding the same transactions with other digests is divergence, reported by both.
  acknowledge @3 (acks :List(Ack), state :State) -> (acks :List(Ack), state :State);
  # The server streams a consistent snapshot of its database (for clone).
  snapshot @4 (sink :ByteSink) -> (bytes :UInt64);
  # A live subscription: the server streams to `sink` every transaction `since` lacks, then
  # each new one as soon as it is committed (however it was: a local writer, another peer),
  # until the connection ends. The subscriber's own transactions are never sent back to it.
  # When there is nothing to send for `heartbeatMs`, an empty chunk says the server is alive.
  # Never returns normally; it fails with the reason the stream stopped.
  subscribe @5 (since :List(VectorEntry), sink :ChangeSink, heartbeatMs :UInt32) -> ();
  # Summarizes a key range of a tracked table (lo <= key < hi; an empty bound: none), listing
  # each row's key and digest when there are at most listUpTo: parley verify against a server.
  summarize @6 (table :Text, lo :List(Value), hi :List(Value), listUpTo :UInt32) -> (summary :RangeSummary);
}

# The bootstrap capability: nothing but a challenge-response login.
interface Gate {
  challenge @0 () -> (nonce :Data);
  # proof = HMAC-SHA256(secret, "parley-client" || serverNonce || clientNonce || site).
  # The reply proves the server knows the secret too:
  # HMAC-SHA256(secret, "parley-server" || clientNonce || serverNonce).
  login @1 (site :Data, clientNonce :Data, proof :Data) -> (proof :Data, session :Session);
}
