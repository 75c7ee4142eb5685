#!/usr/bin/perl
# Soctrang::SSO::Reasons against slapd's real answers (tests/data/password_refusals.json)
# and the reasons table the roles render. Core modules only:
#   prove -v roles/sso/files/perl/t/
# The table: $SOCTRANG_PASSWORD_REASONS (tests/test_password_refusals.py renders the
# webmail role's template into it), else the webmail's example beside its driver,
# whose figures are those of group_vars/all/password_policy.yml.

use strict;
use warnings;
use utf8;

use Encode qw(encode);
use Cwd ();
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $here = dirname( File::Spec->rel2abs(__FILE__) );
my $repo = Cwd::abs_path( File::Spec->catdir( $here, ('..') x 5 ) );
unshift @INC, File::Spec->catdir( $here, '..' );
require Soctrang::SSO::Reasons;

my $corpus_path = $ENV{SOCTRANG_PASSWORD_REFUSALS}
  || File::Spec->catfile( $repo, qw(tests data password_refusals.json) );
my $table_path = $ENV{SOCTRANG_PASSWORD_REASONS}
  || File::Spec->catfile( $repo, qw(roles webmail files password reasons.example.json) );

sub slurp_json {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return JSON::PP->new->utf8->decode(<$fh>);
}

my $corpus = slurp_json($corpus_path)->{cases};
my $texts  = slurp_json($table_path)->{reasons};
my @problems;
my $reasons = Soctrang::SSO::Reasons->load( $table_path,
    on_problem => sub { push @problems, @_ } );
ok( $reasons, "the table loads: $table_path" );
is_deeply( \@problems, [], 'and has nothing the reading drops' );

subtest 'slapd answers give the reasons of the corpus' => sub {
    for my $case (@$corpus) {
        my $name     = $case->{name};
        my $expected = $case->{expected};
        my %record   = %{ $case->{record} };

        # As Net::LDAP hands them over: the server's text in UTF-8 bytes.
        $record{diagnostic} = encode( 'UTF-8', $record{diagnostic} );
        for my $form ( [ characters => $case->{new_password} ],
            [ bytes => encode( 'UTF-8', $case->{new_password} ) ] )
        {
            my ( $kind, $password ) = @$form;
            is_deeply( [ $reasons->reasons_for( \%record, $password ) ],
                $expected, "$name (password in $kind)" );
        }
        is( $reasons->message_for( \%record, $case->{new_password} ),
            join( ' ', map { $texts->{$_} } @$expected ),
            "$name: the Vietnamese text" );
        unlike( $reasons->message_for( \%record, $case->{new_password} ),
            qr/\{\{|\}\}/, "$name: no template left in the text" );
    }
};

subtest 'every pattern of the table is met by the corpus' => sub {
    my %met = map { $_ => 1 } map { @{ $_->{expected} } } @$corpus;
    for my $pattern ( @{ slurp_json($table_path)->{patterns} } ) {
        ok( $met{ $pattern->{reason} }, "reason $pattern->{reason} is in the corpus" );
    }
};

subtest 'a diagnostic that is not UTF-8 matches no pattern, as with preg_match /u' => sub {
    my $record = {
        stage      => 'change',
        result     => 19,
        ppolicy    => undef,
        diagnostic => "Password for dn=\"uid=\xff\" contains tokens from the RDN",
    };
    is_deeply( [ $reasons->reasons_for( $record, 'x' ) ], ['generic'] );
};

subtest 'a missing or broken table is reported, not used' => sub {
    my $dir = tempdir( CLEANUP => 1 );
    my @said;
    my $report = sub { push @said, @_ };
    is( Soctrang::SSO::Reasons->load( "$dir/none.json", on_problem => $report ),
        undef, 'missing file' );
    like( $said[-1], qr/none\.json cannot be read/, 'said so' );
    is( Soctrang::SSO::Reasons->load( '', on_problem => $report ), undef, 'no path' );
    is( Soctrang::SSO::Reasons->from_json_text( '{', on_problem => $report ),
        undef, 'not JSON' );
    like( $said[-1], qr/is not JSON/, 'said so' );
    is( Soctrang::SSO::Reasons->from_json_text( '{"reasons": {"generic": "  "}}',
            on_problem => $report ), undef, 'a blank generic text' );
    like( $said[-1], qr/needs "reasons" with a "generic" text/, 'said so' );
};

subtest 'patterns and classes PHP drops are dropped' => sub {
    my @said;
    my $table = Soctrang::SSO::Reasons->from_json_text(
        encode(
            'UTF-8',
            JSON::PP->new->canonical->encode( {
                    reasons  => { generic => 'Chung.', short => 'Ngắn.', blank => ' ' },
                    patterns => [
                        { stage   => 'login',   reason => 'short' },
                        { result  => '49',      reason => 'short' },
                        { ppolicy => 'tooLate', reason => 'short' },
                        { match   => '(',       reason => 'short' },
                        { match   => '(?{ 1 })', reason => 'short' },
                        { reason  => 'short' },
                        { match   => 'x', reason => 'blank' },
                        'text',
                        { match => 'short$', reason => 'short' },
                    ],
                    classes => [
                        { reason => 'short', characters => '' },
                        { reason => 'nowhere', characters => 'abc' },
                        { reason => 'short', characters => 'abc' },
                    ],
                }
            )
        ),
        on_problem => sub { push @said, @_ }
    );
    ok( $table, 'the table still loads' );
    is( scalar @said, 10, 'every bad entry is named' ) or diag explain \@said;
    like( $said[0], qr/patterns\[0\] has a "stage" other than bind or change/ );
    like( $said[1], qr/patterns\[1\] has a "result" that is not a number/ );
    like( $said[2], qr/patterns\[2\] names an unknown "ppolicy" error/ );
    like( $said[3], qr/patterns\[3\] has a "match" that is not a valid regular expression/ );
    like( $said[4], qr/patterns\[4\] has a "match" that is not a valid regular expression/,
        'a pattern cannot run code' );
    like( $said[5], qr/patterns\[5\] has no condition/ );
    like( $said[6], qr/patterns\[6\] names no reason with a text/, 'a blank text is no text' );
    like( $said[7], qr/patterns\[7\] is not an object/ );
    like( $said[8], qr/classes\[0\] needs a known "reason" and "characters"/ );
    like( $said[9], qr/classes\[1\] needs a known "reason" and "characters"/ );
    is( $table->message_for( { stage => 'change', diagnostic => 'too SHORT' }, 'x' ),
        'Ngắn.', 'the one good pattern decides, case-insensitively' );
    is( $table->message_for( { stage => 'change', diagnostic => 'other' }, 'x' ),
        'Chung.', 'otherwise the generic text' );
};

subtest 'the file is read again when it changes' => sub {
    my $dir  = tempdir( CLEANUP => 1 );
    my $path = "$dir/reasons.json";
    my $write = sub {
        open my $fh, '>:raw', $path or die $!;
        print {$fh} encode( 'UTF-8', qq({"reasons": {"generic": "$_[0]"}}) );
        close $fh;
        my $when = time + $_[1];
        utime $when, $when, $path;
    };
    $write->( 'Một.', 0 );
    is( Soctrang::SSO::Reasons->load($path)->message_for( {}, '' ), 'Một.' );
    $write->( 'Hai nữa.', 5 );
    is( Soctrang::SSO::Reasons->load($path)->message_for( {}, '' ), 'Hai nữa.' );
};

done_testing();
