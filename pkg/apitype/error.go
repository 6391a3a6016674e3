package apitype

// Error is the error body Anchore Engine really sends (not the swagger
// ApiErrorResponse): detail.error_codes is always present.
type Error struct {
	Detail   ErrorDetail `json:"detail"`
	HTTPCode int         `json:"httpcode"`
	Message  string      `json:"message"`
}

// ErrorDetail is Error's detail object.
type ErrorDetail struct {
	ErrorCodes []string `json:"error_codes"`
}

// NewError returns an Error with an empty, non-nil error_codes list.
func NewError(code int, message string) Error {
	return Error{Detail: ErrorDetail{ErrorCodes: []string{}}, HTTPCode: code, Message: message}
}

// VersionResponse is the answer of GET /version.
type VersionResponse struct {
	Service VersionService `json:"service"`
	API     VersionAPI     `json:"api"`
}

// VersionService names the server's own version.
type VersionService struct {
	Version string `json:"version"`
}

// VersionAPI names the API version served.
type VersionAPI struct {
	Version string `json:"version"`
}
