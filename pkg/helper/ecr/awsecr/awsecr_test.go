package awsecr_test

import (
	"testing"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		want   ecr.Registry
		wantOK bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", ecr.Registry{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ID: "123456789012", Region: "us-east-1"}, true},
		{"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/", ecr.Registry{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", ID: "123456789012", Region: "eu-west-1"}, true},
		{"http://123456789012.dkr.ecr.eu-west-1.amazonaws.com", ecr.Registry{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", ID: "123456789012", Region: "eu-west-1"}, true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com:443", ecr.Registry{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ID: "123456789012", Region: "us-east-1"}, true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app", ecr.Registry{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ID: "123456789012", Region: "us-east-1"}, true},
		{"  123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM\n", ecr.Registry{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ID: "123456789012", Region: "us-east-1"}, true},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ecr.Registry{Host: "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ID: "123456789012", Region: "us-gov-west-1", FIPS: true}, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ecr.Registry{Host: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ID: "123456789012", Region: "cn-north-1"}, true},
		{"123456789012.dkr-ecr.us-west-2.on.aws", ecr.Registry{Host: "123456789012.dkr-ecr.us-west-2.on.aws", ID: "123456789012", Region: "us-west-2"}, true},
		{"public.ecr.aws", ecr.Registry{}, false},
		{"ecr-public.aws.com", ecr.Registry{}, false},
		{"12345678901.dkr.ecr.us-east-1.amazonaws.com", ecr.Registry{}, false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", ecr.Registry{}, false},
		{"registry.example.com:5000", ecr.Registry{}, false},
		{"https://index.docker.io/v1/", ecr.Registry{}, false},
		{"[::1]:5000", ecr.Registry{}, false},
		{"", ecr.Registry{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := awsecr.Parse(tt.in)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
