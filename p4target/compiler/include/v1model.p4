/* cpn-p4: v1model architecture declarations (the simple_switch / BMv2 model). Names, types and
 * signatures follow the published v1model.p4 so programs written for p4c compile unchanged;
 * the text is the project's own. */
#ifndef _V1_MODEL_P4_
#define _V1_MODEL_P4_

#include "core.p4"

/* As p4c's v1model.p4: a program that does not define V1MODEL_VERSION before including this
 * file gets the 20180101 declarations (counter, meter and register indexed by bit<32>, no
 * PortId_t); `#define V1MODEL_VERSION 20200408` selects counter<I>, meter<I>, register<T, I>. */
#ifndef V1MODEL_VERSION
#define V1MODEL_VERSION 20180101
#endif

/// Match kinds of the v1model target, besides exact/ternary/lpm.
match_kind {
    range,     /// lo <= key <= hi
    optional,  /// exact, or wildcard
    selector   /// input of an action selector's hash
}

const bit<32> __v1model_version = V1MODEL_VERSION;

#if V1MODEL_VERSION >= 20200408
typedef bit<9> PortId_t;
#endif

/// Per-packet metadata of simple_switch. Fields with @alias map to BMv2's intrinsic names.
@metadata @name("standard_metadata")
struct standard_metadata_t {
#if V1MODEL_VERSION >= 20200408
    PortId_t ingress_port;    /// port the packet arrived on
    PortId_t egress_spec;     /// output port chosen in ingress (511 drops)
    PortId_t egress_port;     /// output port, in egress
#else
    bit<9>  ingress_port;
    bit<9>  egress_spec;
    bit<9>  egress_port;
#endif
    bit<32> instance_type;    /// normal, clone, resubmit, recirculate, replication
    bit<32> packet_length;    /// bytes
    @alias("queueing_metadata.enq_timestamp") bit<32> enq_timestamp;   /// microseconds
    @alias("queueing_metadata.enq_qdepth")    bit<19> enq_qdepth;      /// packets
    @alias("queueing_metadata.deq_timedelta") bit<32> deq_timedelta;   /// microseconds queued
    @alias("queueing_metadata.deq_qdepth")    bit<19> deq_qdepth;      /// packets
    @alias("intrinsic_metadata.ingress_global_timestamp") bit<48> ingress_global_timestamp;
    @alias("intrinsic_metadata.egress_global_timestamp")  bit<48> egress_global_timestamp;
    @alias("intrinsic_metadata.mcast_grp")  bit<16> mcast_grp;   /// multicast group, 0: none
    @alias("intrinsic_metadata.egress_rid") bit<16> egress_rid;  /// replication id
    bit<1>  checksum_error;   /// 1 when verify_checksum found a bad checksum
    error   parser_error;     /// error the parser ended with
    @alias("intrinsic_metadata.priority") bit<3> priority;       /// egress queue
}

enum CounterType {
    packets,
    bytes,
    packets_and_bytes
}

enum MeterType {
    packets,
    bytes
}

/// An array of counters, indexed by the program.
extern counter
#if V1MODEL_VERSION >= 20200408
<I>
#endif
{
    counter(bit<32> size, CounterType type);
#if V1MODEL_VERSION >= 20200408
    void count(in I index);
#else
    void count(in bit<32> index);
#endif
}

/// A counter per entry of the table it is attached to (table property `counters`).
extern direct_counter {
    direct_counter(CounterType type);
    void count();
}

#define V1MODEL_METER_COLOR_GREEN  0
#define V1MODEL_METER_COLOR_YELLOW 1
#define V1MODEL_METER_COLOR_RED    2

/// An array of two-rate three-colour meters.
extern meter
#if V1MODEL_VERSION >= 20200408
<I>
#endif
{
    meter(bit<32> size, MeterType type);
#if V1MODEL_VERSION >= 20200408
    void execute_meter<T>(in I index, out T result);
#else
    void execute_meter<T>(in bit<32> index, out T result);
#endif
}

/// A meter per entry of the table it is attached to (table property `meters`).
extern direct_meter<T> {
    direct_meter(MeterType type);
    void read(out T result);
}

/// An array of stateful cells of type T.
extern register<T
#if V1MODEL_VERSION >= 20200408
    , I
#endif
    >
{
    register(bit<32> size);
#if V1MODEL_VERSION >= 20200408
    @noSideEffects
    void read(out T result, in I index);
    void write(in I index, in T value);
#else
    @noSideEffects
    void read(out T result, in bit<32> index);
    void write(in bit<32> index, in T value);
#endif
}

/// Table implementation: entries point to shared action "members".
extern action_profile {
    action_profile(bit<32> size);
}

/// A uniformly distributed random number in lo..hi (inclusive).
extern void random<T>(out T result, in T lo, in T hi);

/// Send data (a struct, whose name names the digest) to the control plane.
extern void digest<T>(in bit<32> receiver, in T data);

enum HashAlgorithm {
    crc32,
    crc32_custom,
    crc16,
    crc16_custom,
    random,
    identity,
    csum16,
    xor16
}

/// Drop the packet at the end of this pipeline (sets egress_spec to 511, mcast_grp to 0).
@pure
extern void mark_to_drop(inout standard_metadata_t standard_metadata);
@deprecated("Please use mark_to_drop(standard_metadata) instead.")
extern void mark_to_drop();

/// result = base + (hash(data) mod max), or base when max is 0.
@pure
extern void hash<O, T, D, M>(out O result, in HashAlgorithm algo, in T base, in D data, in M max);

/// Table implementation: groups of members chosen by a hash of the `selector` keys.
extern action_selector {
    action_selector(HashAlgorithm algorithm, bit<32> size, bit<32> outputWidth);
}

enum CloneType {
    I2E,
    E2E
}

@deprecated("Please use verify_checksum/update_checksum instead.")
extern Checksum16 {
    Checksum16();
    bit<16> get<D>(in D data);
}

/// In the verify-checksum control: set standard_metadata.checksum_error if the checksum of
/// data (computed with algo) differs from checksum, when condition holds.
extern void verify_checksum<T, O>(in bool condition, in T data, in O checksum, HashAlgorithm algo);

/// In the compute-checksum control: checksum = algo(data), when condition holds.
@pure
extern void update_checksum<T, O>(in bool condition, in T data, inout O checksum, HashAlgorithm algo);

/// As verify_checksum, with the unparsed payload appended to data.
extern void verify_checksum_with_payload<T, O>(in bool condition, in T data, in O checksum, HashAlgorithm algo);

/// As update_checksum, with the unparsed payload appended to data.
@noSideEffects
extern void update_checksum_with_payload<T, O>(in bool condition, in T data, inout O checksum, HashAlgorithm algo);

/// Clone the packet to the clone session (I2E from ingress, E2E from egress).
extern void clone(in CloneType type, in bit<32> session);

@deprecated("Please use 'resubmit_preserving_field_list' instead")
extern void resubmit<T>(in T data);
/// Resubmit the packet; user metadata fields tagged @field_list(index) are kept.
extern void resubmit_preserving_field_list(bit<8> index);

@deprecated("Please use 'recirculate_preserving_field_list' instead")
extern void recirculate<T>(in T data);
/// Recirculate the packet after egress; fields tagged @field_list(index) are kept.
extern void recirculate_preserving_field_list(bit<8> index);

@deprecated("Please use 'clone' or 'clone_preserving_field_list' instead")
extern void clone3<T>(in CloneType type, in bit<32> session, in T data);
/// clone(), keeping the user metadata fields tagged @field_list(index) in the clone.
extern void clone_preserving_field_list(in CloneType type, in bit<32> session, bit<8> index);

/// Send at most length bytes of the packet out.
extern void truncate(in bit<32> length);

/// Abort processing (and log) when check is false; assume is for verification tools.
extern void assert(in bool check);
extern void assume(in bool check);

/// Log a message; `{}` in msg is replaced by the values of data (a list of fields).
extern void log_msg(string msg);
extern void log_msg<T>(string msg, in T data);

/* The architecture: the six blocks of simple_switch. */
parser Parser<H, M>(packet_in b,
                    out H parsedHdr,
                    inout M meta,
                    inout standard_metadata_t standard_metadata);

control VerifyChecksum<H, M>(inout H hdr,
                             inout M meta);
@pipeline
control Ingress<H, M>(inout H hdr,
                      inout M meta,
                      inout standard_metadata_t standard_metadata);
@pipeline
control Egress<H, M>(inout H hdr,
                     inout M meta,
                     inout standard_metadata_t standard_metadata);

control ComputeChecksum<H, M>(inout H hdr,
                              inout M meta);
@deparser
control Deparser<H>(packet_out b, in H hdr);

package V1Switch<H, M>(Parser<H, M> p,
                       VerifyChecksum<H, M> vr,
                       Ingress<H, M> ig,
                       Egress<H, M> eg,
                       ComputeChecksum<H, M> ck,
                       Deparser<H> dep
                       );

#endif
