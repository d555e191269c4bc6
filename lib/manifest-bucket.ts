/**
 * The bucket of batch manifests (the snapshot ids a Distributed Map reads with ItemReader):
 * private, encrypted, TLS only, and short-lived — a manifest is only read while its batch runs, so
 * objects expire after {@link MANIFEST_RETENTION_DAYS} and unfinished multipart uploads after a day.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Days a manifest is kept (a batch runs for hours at most; the rest is room to inspect one). */
export const MANIFEST_RETENTION_DAYS = 7;

export class ManifestBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'expire-manifests', expiration: Duration.days(MANIFEST_RETENTION_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // Only derived, expiring data: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only derived, short-lived manifests of snapshot ids (expired after a week), written ' +
        'and read by the batch Lambdas and the state machine role; those API calls are in CloudTrail. Server ' +
        'access logs would need a second bucket to record the same accesses.',
    });
  }
}
