package frame

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorIsCode(t *testing.T) {
	err := fmt.Errorf("running the query: %w", &Error{Code: CodeSyntaxError, Message: "line 1:0 no viable alternative"})
	if !errors.Is(err, CodeSyntaxError) {
		t.Fatal("errors.Is(err, CodeSyntaxError) = false for a wrapped Syntax_error")
	}
	if errors.Is(err, CodeInvalid) {
		t.Fatal("errors.Is(err, CodeInvalid) = true for a Syntax_error")
	}
	timeout := &Error{Code: CodeReadTimeout, Detail: &ReadTimeout{Consistency: Quorum, Received: 1, BlockFor: 2}}
	var rt *ReadTimeout
	if !errors.Is(timeout, CodeReadTimeout) || !errors.As(fmt.Errorf("x: %w", timeout), &rt) || rt.BlockFor != 2 {
		t.Fatal("a Read_timeout must match both its code and its detail type")
	}
}
