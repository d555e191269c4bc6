/**
 * The audit seal's infrastructure: the KMS signing key (ECC_NIST_P256, ECDSA_SHA_256), the
 * write-once digest bucket, and the schedule that runs the digester.
 *
 * The bucket: Object Lock in COMPLIANCE mode (no one, root included, can shorten the retention or
 * delete a locked version before it expires), versioning (required by Object Lock), SSE-KMS with a
 * key of its own, public access blocked, TLS enforced, and a bucket policy that denies deleting
 * object versions (and objects) to every principal.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface AuditSealProps {
  /** Minutes per digest window. */
  readonly digestIntervalMinutes: number;
  /** Days each digest object version is locked (COMPLIANCE). */
  readonly retentionDays: number;
}

export class AuditSeal extends Construct {
  public readonly signingKey: Key;
  public readonly bucket: Bucket;
  public readonly bucketKey: Key;

  constructor(scope: Construct, id: string, props: AuditSealProps) {
    super(scope, id);
    this.signingKey = new Key(this, 'SigningKey', {
      description: 'decision-replay: signs the audit digests (ECDSA P-256 over SHA-256)',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucketKey = new Key(this, 'BucketKey', {
      description: 'decision-replay: encrypts the audit digest bucket (SSE-KMS)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Digests', {
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      encryption: BucketEncryption.KMS,
      encryptionKey: this.bucketKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyDeletingDigests',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:DeleteObjectVersion', 's3:DeleteObject', 's3:PutLifecycleConfiguration'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );
  }

  /** Read digests and the public key (the audit API): exactly the actions the store and signer use. */
  grantRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects('*')] }));
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    this.bucketKey.grant(grantee, 'kms:Decrypt');
    this.signingKey.grant(grantee, 'kms:GetPublicKey');
  }

  /** Also write digests and sign them (the digester). No delete of any kind. */
  grantSeal(grantee: IGrantable): void {
    this.grantRead(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('*')] }));
    this.bucketKey.grant(grantee, 'kms:GenerateDataKey');
    this.signingKey.grant(grantee, 'kms:Sign');
  }

  /** Runs the digester often enough that a window is sealed within a few minutes of closing. */
  schedule(digester: IFunction, digestIntervalMinutes: number): Rule {
    // One digester at a time. A window's manifest and signature are written before its digest (the
    // digest, written if absent, is what seals it); two overlapping runs (the rule firing while a
    // slow run or one of its retries is still going) could leave the loser's signature beside the
    // winner's digest, which verify would report as tampering on an honest system. With reserved
    // concurrency 1 an overlapping invocation is throttled, and Lambda retries it later, alone.
    const cfn = digester.node.defaultChild;
    if (!(cfn instanceof CfnFunction)) throw new Error('the digester must be a Lambda function defined in this stack');
    cfn.reservedConcurrentExecutions = 1;
    const every = Math.min(digestIntervalMinutes, 5);
    return new Rule(this, 'DigestSchedule', {
      description: 'decision-replay: seal every closed window of records in a signed digest',
      schedule: Schedule.rate(Duration.minutes(every)),
      targets: [new LambdaFunction(digester, { retryAttempts: 2 })],
    });
  }

  /** For CfnOutputs. */
  get region(): string {
    return Stack.of(this).region;
  }
}
