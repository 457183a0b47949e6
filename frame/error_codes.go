package frame

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
)

// ERROR responses (v4 spec sections 4.2.1 and 9, v5 spec sections 4.2.1 and 8).

// ErrorCode is the [int] code that starts an ERROR body.
type ErrorCode uint32

// The error codes of protocol v4 and v5. CDCWriteFailure and CASWriteUnknown
// are new in v5 (Cassandra sends a CAS write timeout instead of
// CASWriteUnknown to v4 clients).
const (
	CodeServerError         ErrorCode = 0x0000
	CodeProtocolError       ErrorCode = 0x000A
	CodeAuthenticationError ErrorCode = 0x0100 // bad credentials
	CodeUnavailable         ErrorCode = 0x1000 // detail *Unavailable
	CodeOverloaded          ErrorCode = 0x1001
	CodeIsBootstrapping     ErrorCode = 0x1002
	CodeTruncateError       ErrorCode = 0x1003
	CodeWriteTimeout        ErrorCode = 0x1100 // detail *WriteTimeout
	CodeReadTimeout         ErrorCode = 0x1200 // detail *ReadTimeout
	CodeReadFailure         ErrorCode = 0x1300 // detail *ReadFailure
	CodeFunctionFailure     ErrorCode = 0x1400 // detail *FunctionFailure
	CodeWriteFailure        ErrorCode = 0x1500 // detail *WriteFailure
	CodeCDCWriteFailure     ErrorCode = 0x1600 // v5; no detail (the server sends only the message)
	CodeCASWriteUnknown     ErrorCode = 0x1700 // v5; detail *CASWriteUnknown
	CodeSyntaxError         ErrorCode = 0x2000
	CodeUnauthorized        ErrorCode = 0x2100
	CodeInvalid             ErrorCode = 0x2200
	CodeConfigError         ErrorCode = 0x2300
	CodeAlreadyExists       ErrorCode = 0x2400 // detail *AlreadyExists
	CodeUnprepared          ErrorCode = 0x2500 // detail *Unprepared
)

// errorCodeInfo names a code and gives the message name used in decode
// errors, so that neither is built by concatenation at run time.
type errorCodeInfo struct {
	name string // as the spec spells it
	msg  string // "ERROR(<name>)"
}

var errorCodes = map[ErrorCode]errorCodeInfo{
	CodeServerError:         {"Server_error", "ERROR(Server_error)"},
	CodeProtocolError:       {"Protocol_error", "ERROR(Protocol_error)"},
	CodeAuthenticationError: {"Authentication_error", "ERROR(Authentication_error)"},
	CodeUnavailable:         {"Unavailable", "ERROR(Unavailable)"},
	CodeOverloaded:          {"Overloaded", "ERROR(Overloaded)"},
	CodeIsBootstrapping:     {"Is_bootstrapping", "ERROR(Is_bootstrapping)"},
	CodeTruncateError:       {"Truncate_error", "ERROR(Truncate_error)"},
	CodeWriteTimeout:        {"Write_timeout", "ERROR(Write_timeout)"},
	CodeReadTimeout:         {"Read_timeout", "ERROR(Read_timeout)"},
	CodeReadFailure:         {"Read_failure", "ERROR(Read_failure)"},
	CodeFunctionFailure:     {"Function_failure", "ERROR(Function_failure)"},
	CodeWriteFailure:        {"Write_failure", "ERROR(Write_failure)"},
	CodeCDCWriteFailure:     {"CDC_write_failure", "ERROR(CDC_write_failure)"},
	CodeCASWriteUnknown:     {"CAS_write_unknown", "ERROR(CAS_write_unknown)"},
	CodeSyntaxError:         {"Syntax_error", "ERROR(Syntax_error)"},
	CodeUnauthorized:        {"Unauthorized", "ERROR(Unauthorized)"},
	CodeInvalid:             {"Invalid", "ERROR(Invalid)"},
	CodeConfigError:         {"Config_error", "ERROR(Config_error)"},
	CodeAlreadyExists:       {"Already_exists", "ERROR(Already_exists)"},
	CodeUnprepared:          {"Unprepared", "ERROR(Unprepared)"},
}

// Known reports whether c is one of the codes of protocol v4 or v5.
func (c ErrorCode) Known() bool {
	_, ok := errorCodes[c]
	return ok
}

// String renders the code in hex with its name, e.g. "0x2200 (Invalid)"; a
// code this package does not know prints as "0x1234 (unknown)".
func (c ErrorCode) String() string {
	name := "unknown"
	if info, ok := errorCodes[c]; ok {
		name = info.name
	}
	return fmt.Sprintf("0x%04x (%s)", uint32(c), name)
}

// Error is an ERROR response: the server's code and message, and the extra
// fields some codes carry as Detail. It is the error the driver returns for a
// request the server refused, so it implements error:
//
//	var fe *frame.Error
//	if errors.As(err, &fe) && fe.Code == frame.CodeOverloaded { ... }
//
// Unwrap returns Detail, so the detail can be matched directly:
//
//	var unavail *frame.Unavailable
//	if errors.As(err, &unavail) { ... unavail.Alive ... }
//
// and any code with errors.Is:
//
//	if errors.Is(err, frame.CodeUnauthorized) { ... }
//
// A code this package does not know (servers may add codes) still decodes: Code
// keeps the number, Detail is nil, and whatever follows the message is kept
// in Unparsed so that re-encoding gives the same bytes.
type Error struct {
	Code    ErrorCode
	Message string
	// Detail holds the code-specific fields: *Unavailable, *WriteTimeout,
	// *ReadTimeout, *ReadFailure, *WriteFailure, *FunctionFailure,
	// *AlreadyExists, *Unprepared or *CASWriteUnknown. It is nil for the
	// codes that carry no more than a message. When encoding, it must match
	// Code.
	Detail ErrorDetail
	// Unparsed is the rest of the body after the message for a code this
	// package does not know (nil when empty). It must be nil for known codes.
	Unparsed []byte
}

// Error formats the error as "cassandra error 0x2200 (Invalid): <message>".
func (e *Error) Error() string {
	return "cassandra error " + e.Code.String() + ": " + e.Message
}

// Is makes errors.Is(err, frame.CodeSyntaxError) true for an ERROR with
// that code, so that codes without a detail type (Syntax_error,
// Unauthorized, Invalid, Overloaded...) can be matched as easily as
// the detail types are with errors.As.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// Error makes an ErrorCode usable as the target of errors.Is (see
// Error.Is); it is the code's String.
func (c ErrorCode) Error() string { return c.String() }

// Unwrap returns the detail (nil when there is none).
func (e *Error) Unwrap() error {
	if e.Detail == nil {
		return nil
	}
	return e.Detail
}

func (*Error) Opcode() Opcode { return OpError }

// AppendBody appends <code><message> and the code's extra fields in the
// layout of version v (v3 and v4 share a layout; v5 differs for read and
// write failures and for CAS write timeouts).
func (e *Error) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: errorMsgName(e.Code)}
	if !responseVersionOK(&w, v, V3) {
		return dst, w.err
	}
	w.int32(int32(e.Code))
	w.string("message", e.Message)
	want := detailCode(e.Code)
	switch {
	case e.Detail != nil && e.Detail.errorCode() != e.Code:
		w.fail("detail", fmt.Errorf("%T is the detail of code %v, not of %v", e.Detail, e.Detail.errorCode(), e.Code))
	case e.Detail == nil && want:
		w.fail("detail", fmt.Errorf("code %v needs a detail", e.Code))
	case e.Detail != nil:
		e.Detail.appendDetail(&w, v)
	}
	if e.Unparsed != nil {
		if e.Code.Known() {
			w.fail("unparsed", fmt.Errorf("unparsed bytes are only kept for unknown codes, not %v", e.Code))
		}
		w.raw(e.Unparsed)
	}
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func errorMsgName(c ErrorCode) string {
	if info, ok := errorCodes[c]; ok {
		return info.msg
	}
	return "ERROR"
}

// detailCode reports whether code c always carries a detail.
func detailCode(c ErrorCode) bool {
	switch c {
	case CodeUnavailable, CodeWriteTimeout, CodeReadTimeout, CodeReadFailure, CodeFunctionFailure,
		CodeWriteFailure, CodeCASWriteUnknown, CodeAlreadyExists, CodeUnprepared:
		return true
	}
	return false
}

func decodeError(r *reader, v Version) *Error {
	code := ErrorCode(uint32(r.int32("code")))
	e := &Error{Code: code}
	if r.err != nil {
		return nil
	}
	r.msg = errorMsgName(code)
	e.Message = r.string("message")
	switch code {
	case CodeUnavailable:
		d := &Unavailable{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Required = int(r.int32("required"))
		d.Alive = int(r.int32("alive"))
		e.Detail = d
	case CodeWriteTimeout:
		d := &WriteTimeout{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Received = int(r.int32("received"))
		d.BlockFor = int(r.int32("blockfor"))
		d.WriteType = WriteType(r.string("write_type"))
		if v >= V5 && d.WriteType == WriteTypeCAS {
			// The v5 spec always sends <contentions> after CAS, but
			// Cassandra sends it only for some CAS timeouts (a plain
			// WriteTimeoutException with write type CAS goes without).
			if r.err == nil && r.remaining() == 0 {
				d.NoContentions = true
			} else {
				d.Contentions = r.short("contentions")
			}
		}
		e.Detail = d
	case CodeReadTimeout:
		d := &ReadTimeout{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Received = int(r.int32("received"))
		d.BlockFor = int(r.int32("blockfor"))
		d.DataPresent = r.byte1("data_present")
		e.Detail = d
	case CodeReadFailure:
		d := &ReadFailure{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Received = int(r.int32("received"))
		d.BlockFor = int(r.int32("blockfor"))
		d.NumFailures, d.Reasons = readFailures(r, v)
		d.DataPresent = r.byte1("data_present")
		e.Detail = d
	case CodeWriteFailure:
		d := &WriteFailure{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Received = int(r.int32("received"))
		d.BlockFor = int(r.int32("blockfor"))
		d.NumFailures, d.Reasons = readFailures(r, v)
		d.WriteType = WriteType(r.string("write_type"))
		e.Detail = d
	case CodeCASWriteUnknown:
		d := &CASWriteUnknown{}
		d.Consistency = Consistency(r.short("consistency"))
		d.Received = int(r.int32("received"))
		d.BlockFor = int(r.int32("blockfor"))
		e.Detail = d
	case CodeFunctionFailure:
		d := &FunctionFailure{}
		d.Keyspace = r.string("keyspace")
		d.Function = r.string("function")
		d.ArgTypes = r.stringList("arg_types")
		e.Detail = d
	case CodeAlreadyExists:
		d := &AlreadyExists{}
		d.Keyspace = r.string("keyspace")
		d.Table = r.string("table")
		e.Detail = d
	case CodeUnprepared:
		e.Detail = &Unprepared{ID: r.shortBytes("id")}
	default:
		if !code.Known() && r.err == nil && r.remaining() > 0 {
			e.Unparsed = r.raw("unparsed", r.remaining())
		}
	}
	if r.err != nil {
		return nil
	}
	return e
}

// readFailures reads <numfailures> (v3, v4) or <reasonmap> (v5).
func readFailures(r *reader, v Version) (int, []FailureReason) {
	start := r.off
	n := r.int32("numfailures")
	if v < V5 || r.err != nil {
		return int(n), nil
	}
	// Each entry is at least a 4-byte address, its size byte and a [short].
	if n < 0 || int(n) > r.remaining()/7 {
		r.off = start
		if n < 0 {
			r.fail("reasonmap", fmt.Errorf("negative count %d", n))
		} else {
			r.fail("reasonmap", fmt.Errorf("%w: %d entries need at least %d bytes, %d remain", ErrTruncated, n, int(n)*7, r.remaining()-4))
		}
		return 0, nil
	}
	reasons := make([]FailureReason, n)
	for i := range reasons {
		reasons[i].Endpoint = r.inetAddr("endpoint")
		reasons[i].Code = FailureCode(r.short("failurecode"))
		if r.err != nil {
			prefixField(r.err, "reasonmap", i)
			return 0, nil
		}
	}
	return int(n), reasons
}

// ErrorDetail is the code-specific part of an ERROR: one of the pointer types
// listed at Error.Detail. Each implements error, so errors.As finds it
// through Error.Unwrap.
type ErrorDetail interface {
	error
	errorCode() ErrorCode
	appendDetail(w *writer, v Version)
}

// WriteType says which kind of write timed out or failed.
type WriteType string

// The write types of the v4 and v5 specs.
const (
	WriteTypeSimple        WriteType = "SIMPLE"         // a single non-counter write, not in a batch
	WriteTypeBatch         WriteType = "BATCH"          // a logged batch, after its batch log was written
	WriteTypeUnloggedBatch WriteType = "UNLOGGED_BATCH" // an unlogged batch
	WriteTypeCounter       WriteType = "COUNTER"        // a counter write, batched or not
	WriteTypeBatchLog      WriteType = "BATCH_LOG"      // writing the batch log of a logged batch
	WriteTypeCAS           WriteType = "CAS"            // a compare-and-set (lightweight transaction)
	WriteTypeView          WriteType = "VIEW"           // a materialized view update could not take its lock
	WriteTypeCDC           WriteType = "CDC"            // cdc_total_space exceeded for a CDC-tracked table
)

// FailureCode is a replica's reason for a read or write failure (v5
// <reasonmap>). The values are Cassandra's RequestFailureReason codes; other
// servers may use others, so unknown values are kept as they are.
type FailureCode uint16

// Cassandra 5.0's failure reasons.
const (
	FailureUnknown               FailureCode = 0
	FailureReadTooManyTombstones FailureCode = 1
	FailureTimeout               FailureCode = 2
	FailureIncompatibleSchema    FailureCode = 3
	FailureReadSize              FailureCode = 4
	FailureNodeDown              FailureCode = 5
	FailureIndexNotAvailable     FailureCode = 6
)

var failureCodeNames = [...]string{"UNKNOWN", "READ_TOO_MANY_TOMBSTONES", "TIMEOUT",
	"INCOMPATIBLE_SCHEMA", "READ_SIZE", "NODE_DOWN", "INDEX_NOT_AVAILABLE"}

// String renders the code as its number and Cassandra name, e.g. "1 (READ_TOO_MANY_TOMBSTONES)".
func (c FailureCode) String() string {
	name := "unknown"
	if int(c) < len(failureCodeNames) {
		name = failureCodeNames[c]
	}
	return strconv.Itoa(int(c)) + " (" + name + ")"
}

// FailureReason is one entry of a v5 <reasonmap>: a replica that failed and
// why. The map travels as a list; its order is kept.
type FailureReason struct {
	Endpoint netip.Addr
	Code     FailureCode
}

// Unavailable (code 0x1000): not enough replicas were alive to even try.
type Unavailable struct {
	Consistency Consistency
	Required    int // replicas needed for Consistency
	Alive       int // replicas known alive
}

func (d *Unavailable) Error() string {
	return fmt.Sprintf("unavailable: %v needs %d replicas, %d alive", d.Consistency, d.Required, d.Alive)
}
func (*Unavailable) errorCode() ErrorCode { return CodeUnavailable }
func (d *Unavailable) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "required", d.Required)
	putInt(w, "alive", d.Alive)
}

// WriteTimeout (code 0x1100): replicas did not acknowledge a write in time.
type WriteTimeout struct {
	Consistency Consistency
	Received    int // replicas that acknowledged
	BlockFor    int // acknowledgements needed for Consistency
	WriteType   WriteType
	// Contentions is the number of contentions of a CAS operation. It is on
	// the wire only in v5 and only when WriteType is CAS; it must be zero
	// otherwise.
	Contentions uint16
	// NoContentions (v5, write type CAS) records that the server sent no
	// <contentions>: Cassandra omits it for some CAS timeouts although the
	// spec says it is there. Contentions is then zero.
	NoContentions bool
}

func (d *WriteTimeout) Error() string {
	return fmt.Sprintf("write timeout: %s write at %v, %d of %d replicas acknowledged", d.WriteType, d.Consistency, d.Received, d.BlockFor)
}
func (*WriteTimeout) errorCode() ErrorCode { return CodeWriteTimeout }
func (d *WriteTimeout) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "received", d.Received)
	putInt(w, "blockfor", d.BlockFor)
	w.string("write_type", string(d.WriteType))
	switch {
	case v >= V5 && d.WriteType == WriteTypeCAS && d.NoContentions:
		if d.Contentions != 0 {
			w.fail("contentions", fmt.Errorf("contentions %d with NoContentions", d.Contentions))
		}
	case v >= V5 && d.WriteType == WriteTypeCAS:
		w.short(d.Contentions)
	case d.Contentions != 0:
		w.fail("contentions", fmt.Errorf("contentions are sent only with write type CAS in v5"))
	}
}

// ReadTimeout (code 0x1200): replicas did not answer a read in time.
type ReadTimeout struct {
	Consistency Consistency
	Received    int // replicas that answered
	BlockFor    int // answers needed for Consistency
	// DataPresent is the <data_present> byte as received: 0 means the
	// replica asked for the data did not answer, any other value that it
	// did. It is kept as a byte so that any value re-encodes as it came;
	// DataReceived gives it as a bool.
	DataPresent byte
}

// DataReceived reports whether the replica asked for the data answered.
func (d *ReadTimeout) DataReceived() bool { return d.DataPresent != 0 }

func (d *ReadTimeout) Error() string {
	return fmt.Sprintf("read timeout at %v: %d of %d replicas answered, data received: %t", d.Consistency, d.Received, d.BlockFor, d.DataReceived())
}
func (*ReadTimeout) errorCode() ErrorCode { return CodeReadTimeout }
func (d *ReadTimeout) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "received", d.Received)
	putInt(w, "blockfor", d.BlockFor)
	w.byte1(d.DataPresent)
}

// ReadFailure (code 0x1300): replicas failed a read (not a timeout).
type ReadFailure struct {
	Consistency Consistency
	Received    int
	BlockFor    int
	// NumFailures is the number of replicas that failed: the <numfailures>
	// of v3 and v4, and len(Reasons) when decoded from v5.
	NumFailures int
	// Reasons (v5 only) says which replica failed and why. Nil when decoded
	// from v4. When encoding for v4 only its length is sent (as NumFailures).
	Reasons []FailureReason
	// DataPresent is the <data_present> byte as received (see ReadTimeout).
	DataPresent byte
}

// DataReceived reports whether the replica asked for the data answered.
func (d *ReadFailure) DataReceived() bool { return d.DataPresent != 0 }

func (d *ReadFailure) Error() string {
	return fmt.Sprintf("read failure at %v: %d of %d replicas answered, %d failed", d.Consistency, d.Received, d.BlockFor, d.NumFailures)
}
func (*ReadFailure) errorCode() ErrorCode { return CodeReadFailure }
func (d *ReadFailure) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "received", d.Received)
	putInt(w, "blockfor", d.BlockFor)
	appendFailures(w, v, d.NumFailures, d.Reasons)
	w.byte1(d.DataPresent)
}

// WriteFailure (code 0x1500): replicas failed a write (not a timeout).
type WriteFailure struct {
	Consistency Consistency
	Received    int
	BlockFor    int
	// NumFailures and Reasons are as in ReadFailure.
	NumFailures int
	Reasons     []FailureReason
	WriteType   WriteType
}

func (d *WriteFailure) Error() string {
	return fmt.Sprintf("write failure: %s write at %v, %d of %d replicas acknowledged, %d failed", d.WriteType, d.Consistency, d.Received, d.BlockFor, d.NumFailures)
}
func (*WriteFailure) errorCode() ErrorCode { return CodeWriteFailure }
func (d *WriteFailure) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "received", d.Received)
	putInt(w, "blockfor", d.BlockFor)
	appendFailures(w, v, d.NumFailures, d.Reasons)
	w.string("write_type", string(d.WriteType))
}

// appendFailures writes <numfailures> (v3, v4) or <reasonmap> (v5). With
// Reasons set, NumFailures must be zero or len(Reasons).
func appendFailures(w *writer, v Version, num int, reasons []FailureReason) {
	if reasons != nil && num != 0 && num != len(reasons) {
		w.fail("numfailures", fmt.Errorf("NumFailures %d disagrees with %d reasons", num, len(reasons)))
		return
	}
	if v < V5 {
		if reasons != nil {
			num = len(reasons)
		}
		putInt(w, "numfailures", num)
		return
	}
	if reasons == nil && num != 0 {
		w.fail("reasonmap", fmt.Errorf("v5 sends a reason per failed replica; NumFailures %d without Reasons", num))
		return
	}
	putInt(w, "reasonmap", len(reasons))
	for i, fr := range reasons {
		w.inetAddr("endpoint", fr.Endpoint)
		w.short(uint16(fr.Code))
		if w.err != nil {
			prefixField(w.err, "reasonmap", i)
			return
		}
	}
}

// CASWriteUnknown (code 0x1700, v5): a contended compare-and-set may or may
// not have been applied.
type CASWriteUnknown struct {
	Consistency Consistency
	Received    int
	BlockFor    int
}

func (d *CASWriteUnknown) Error() string {
	return fmt.Sprintf("CAS write result unknown at %v: %d of %d replicas acknowledged", d.Consistency, d.Received, d.BlockFor)
}
func (*CASWriteUnknown) errorCode() ErrorCode { return CodeCASWriteUnknown }
func (d *CASWriteUnknown) appendDetail(w *writer, v Version) {
	w.short(uint16(d.Consistency))
	putInt(w, "received", d.Received)
	putInt(w, "blockfor", d.BlockFor)
}

// FunctionFailure (code 0x1400): a user-defined function failed.
type FunctionFailure struct {
	Keyspace string
	Function string
	ArgTypes []string // CQL types of the arguments
}

func (d *FunctionFailure) Error() string {
	return fmt.Sprintf("function %s.%s(%v) failed", d.Keyspace, d.Function, d.ArgTypes)
}
func (*FunctionFailure) errorCode() ErrorCode { return CodeFunctionFailure }
func (d *FunctionFailure) appendDetail(w *writer, v Version) {
	w.string("keyspace", d.Keyspace)
	w.string("function", d.Function)
	w.stringList("arg_types", d.ArgTypes)
}

// AlreadyExists (code 0x2400): a keyspace or table to create already exists.
type AlreadyExists struct {
	Keyspace string
	Table    string // empty when the keyspace itself exists
}

func (d *AlreadyExists) Error() string {
	if d.Table == "" {
		return fmt.Sprintf("keyspace %s already exists", d.Keyspace)
	}
	return fmt.Sprintf("table %s.%s already exists", d.Keyspace, d.Table)
}
func (*AlreadyExists) errorCode() ErrorCode { return CodeAlreadyExists }
func (d *AlreadyExists) appendDetail(w *writer, v Version) {
	w.string("keyspace", d.Keyspace)
	w.string("table", d.Table)
}

// Unprepared (code 0x2500): the node does not know the prepared statement
// ID; prepare it again and retry.
type Unprepared struct {
	ID []byte
}

func (d *Unprepared) Error() string      { return fmt.Sprintf("unprepared statement id %x", d.ID) }
func (*Unprepared) errorCode() ErrorCode { return CodeUnprepared }
func (d *Unprepared) appendDetail(w *writer, v Version) {
	w.shortBytes("id", d.ID)
}

// putInt writes n as an [int], failing when it does not fit.
func putInt(w *writer, field string, n int) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		w.fail(field, fmt.Errorf("%d does not fit an [int]", n))
		return
	}
	w.int32(int32(n))
}
