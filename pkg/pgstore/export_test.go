package pgstore

// WithoutListener makes Open leave the notification connection down.
func WithoutListener(o Options) Options {
	o.noListen = true
	return o
}
