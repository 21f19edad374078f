package protocol

// Error lets a fatal protocol error travel as a Go error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }
