package apitype

// StatusResponse is Anchore's swagger StatusResponse: GET /status, and
// each service's service_detail in GET /system.
type StatusResponse struct {
	Available bool           `json:"available"`
	Busy      bool           `json:"busy"`
	Up        bool           `json:"up"`
	Message   string         `json:"message"`
	Version   string         `json:"version"`
	DBVersion string         `json:"db_version"`
	Detail    map[string]any `json:"detail"`
}

// Service is Anchore's swagger Service: one entry of GET /system/services
// and of GET /system's service_states.
type Service struct {
	HostID        string         `json:"hostid"`
	ServiceName   string         `json:"servicename"`
	BaseURL       string         `json:"base_url"`
	Status        bool           `json:"status"`
	StatusMessage string         `json:"status_message"`
	Version       string         `json:"version"`
	ServiceDetail StatusResponse `json:"service_detail"`
}

// SystemStatusResponse is Anchore's answer of GET /system.
type SystemStatusResponse struct {
	ServiceStates []Service `json:"service_states"`
}
