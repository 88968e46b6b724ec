/* cpn-p4: core library declarations for P4_16 (the names, types and signatures the language
 * specification defines for core.p4; this text is the project's own). */
#ifndef _CORE_P4_
#define _CORE_P4_

/// Errors the core library can signal; programs may declare more with `error { ... }`.
error {
    NoError,               /// no error
    PacketTooShort,        /// not enough bits in the packet for an extract
    NoMatch,               /// no select case matched
    StackOutOfBounds,      /// a header stack index beyond its size
    HeaderTooShort,        /// a varbit extract longer than the field allows
    ParserTimeout,         /// the parser ran too long
    ParserInvalidArgument  /// a parser operation got an invalid argument
}

/// Input packet: what parsers read from.
extern packet_in {
    /// Read a fixed-size header and mark it valid.
    void extract<T>(out T hdr);
    /// Read a header whose varbit field is variableFieldSizeInBits long.
    void extract<T>(out T variableSizeHeader, in bit<32> variableFieldSizeInBits);
    /// Peek at the next bits without consuming them.
    T lookahead<T>();
    /// Skip sizeInBits bits.
    void advance(in bit<32> sizeInBits);
    /// Total packet length in bytes (not supported by every target).
    bit<32> length();
}

/// Output packet: what deparsers write to.
extern packet_out {
    /// Append hdr (a header, or every valid header inside a struct/stack/union) to the packet.
    void emit<T>(in T hdr);
}

/// Stop parsing with error toSignal unless check holds.
extern void verify(in bool check, in error toSignal);

/// The action that does nothing (default action of tables without one).
@noWarn("unused")
action NoAction() {}

/// Match kinds every target provides.
match_kind {
    exact,    /// the key equals the entry value
    ternary,  /// the key equals the value under a mask
    lpm       /// longest-prefix match
}

/// Compile-time assertions.
extern bool static_assert(bool check, string message);
extern bool static_assert(bool check);

#endif
