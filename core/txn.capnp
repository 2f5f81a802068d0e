# The log's storage format for one transaction, also what the sync layer ships.
# Sites are referenced by index into `sites` (16-byte ids); sites[0] is the origin.
@0xf5d0c2cbd3d35efc;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("parley::wire");

struct Value {
  union {
    null @0 :Void;
    integer @1 :Int64;
    real @2 :Float64;
    text @3 :Text;
    blob @4 :Data;
  }
}

struct Dot {
  site @0 :UInt32;
  seq @1 :UInt64;
}

struct ColumnWrite {
  column @0 :UInt32;
  old @1 :Value;
  new @2 :Value;
  base @3 :List(Dot);
}

enum RowOp {
  insert @0;
  update @1;
  delete @2;
}

struct RowChange {
  table @0 :UInt32;
  op @1 :RowOp;
  pk @2 :List(Value);
  columns @3 :List(ColumnWrite);
  rowBase @4 :List(Dot);
}

struct Transaction {
  sites @0 :List(Data);
  seq @1 :UInt64;
  hlc @2 :UInt64;
  context @3 :List(Dot);
  tables @4 :List(Text);
  rows @5 :List(RowChange);
}
