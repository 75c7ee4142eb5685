#!/usr/bin/perl
# Soctrang::SSO::LDAP, ::Password and ::Portal inside LemonLDAP::NG's own code,
# with slapd stood in for at the Net::LDAP level (bind, set_password, root_dse,
# search answer as slapd 2.6 would). The password change runs through the real
# Password/LDAP.pm modifyPassword and Lib/Net/LDAP.pm userModifyPassword.
# Needs the portal's Perl modules (liblemonldap-ng-portal-perl, libmouse-perl,
# libnet-ldap-perl, ...); skipped without them. On a controller without them:
#   PERL5LIB=<unpacked packages>/usr/share/perl5:... prove -v roles/sso/files/perl/t/

use strict;
use warnings;
use utf8;

use Encode qw(encode decode);
use Cwd ();
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my ( $here, $repo );

BEGIN {
    $here = dirname( File::Spec->rel2abs(__FILE__) );
    $repo = Cwd::abs_path( File::Spec->catdir( $here, ('..') x 5 ) );
    unshift @INC, File::Spec->catdir( $here, '..' );

    # Lib/SMTP.pm (a parent of Password/Base.pm) only sends mail, and needs a
    # mail stack (MIME::Entity, Email::Sender, ...) a controller may lack:
    # an empty class in its place then.
    unless ( eval { require Lemonldap::NG::Portal::Lib::SMTP; 1 } ) {
        if ( eval { require Mouse; 1 } ) {
            eval 'package Lemonldap::NG::Portal::Lib::SMTP; use Mouse; 1' or die $@;
            delete $INC{"Lemonldap/NG/Portal/Lib/SMTP.pm"};
            $INC{"Lemonldap/NG/Portal/Lib/SMTP.pm"} = __FILE__;
        }
    }
    # Lib/SMTP.pm calls Lemonldap::NG::Common::Crypto::srandom without loading it:
    # the portal has loaded it by then.
    eval { require Lemonldap::NG::Common::Crypto; 1 };
    for my $module (qw(Mouse Net::LDAP Lemonldap::NG::Portal::Password::LDAP)) {
        eval "require $module; 1"
          or plan skip_all => "needs $module (the portal's Perl modules)";
    }
}

use Lemonldap::NG::Portal::Main::Constants ':all';
use Net::LDAP::Control::PasswordPolicy;
use Net::LDAP::Message;
use Soctrang::SSO::Password;
use Soctrang::SSO::Portal;

my $PPOLICY = '1.3.6.1.4.1.42.2.27.8.5.1';
my $MANAGER = 'cn=sso,ou=services,dc=soctrang,dc=gov,dc=vn';
my $DN      = 'uid=dcnguyen,ou=people,dc=soctrang,dc=gov,dc=vn';
# The table: $SOCTRANG_PASSWORD_REASONS (the role's rendered file, as in reasons.t),
# else the webmail's example beside its driver.
my $TABLE = $ENV{SOCTRANG_PASSWORD_REASONS}
  || File::Spec->catfile( $repo, qw(roles webmail files password reasons.example.json) );
my $texts   = do {
    open my $fh, '<:raw', $TABLE or die $!;
    local $/;
    JSON::PP->new->utf8->decode(<$fh>)->{reasons};
};

# ------------------------------------------------------------------ stand-ins
{
    package Test::Logger;
    sub new { bless { lines => [] }, shift }
    for my $level (qw(debug info notice warn error)) {
        no strict 'refs';
        *{$level} = sub { push @{ $_[0]{lines} }, [ $level, $_[1] ]; 1 };
    }
    sub said { my ( $self, $level ) = @_; map { $_->[1] } grep { $_->[0] eq $level } @{ $self->{lines} } }
}
{
    package Test::Portal;
    sub new { my ( $class, %a ) = @_; bless { logger => Test::Logger->new, user => Test::Logger->new, %a }, $class }
    sub logger     { $_[0]{logger} }
    sub userLogger { $_[0]{user} }
    sub _userDB    { $_[0]{userdb} }
}
{
    package Test::Request;
    sub new { my ( $class, %a ) = @_; bless { data => {}, userData => {}, sessionInfo => {}, %a }, $class }
    sub data        { $_[0]{data} }
    sub userData    { $_[0]{userData} }
    sub sessionInfo { $_[0]{sessionInfo} }
    sub user        { $_[0]{user} }
    sub authResult  { $_[0]{authResult} }
    sub address     { '192.0.2.1' }
}

# slapd's answers, in the order they are asked for; what was asked, in @asked.
my ( @answers, @asked );

sub answer {
    my ( $code, $text, $pp_error ) = @_;
    my $mesg = bless { resultCode => $code, errorMessage => $text // '' }, 'Net::LDAP::Message';
    if ( defined $pp_error ) {

        # The control as it comes off the wire, decoded by Net::LDAP::Message::control.
        my $control = Net::LDAP::Control::PasswordPolicy->new( pp_error => $pp_error );
        $mesg->{controls} = [ { type => $PPOLICY, value => $control->value } ];
    }
    return $mesg;
}
{
    no warnings 'redefine';
    *Net::LDAP::bind = sub {
        my ( $ldap, $dn, %args ) = @_;
        push @asked, [ bind => $dn, $args{password} ];
        return answer(0) if $dn eq $MANAGER;
        return shift(@answers) || die "no answer left for bind $dn";
    };
    *Net::LDAP::set_password = sub {
        my ( $ldap, %args ) = @_;
        push @asked, [ set_password => $args{user}, $args{oldpasswd}, $args{newpasswd} ];
        return shift(@answers) || die 'no answer left for set_password';
    };
    *Net::LDAP::root_dse = sub { 1 };

    # No network: Lib/LDAP.pm newLdap builds its object with Lib/Net/LDAP.pm new.
    *Lemonldap::NG::Portal::Lib::Net::LDAP::new = sub {
        my ( $class, $args ) = @_;
        return bless { conf => $args->{conf}, portal => $args->{p} }, $class;
    };
}

my %conf = (
    ldapPpolicyControl       => 1,
    ldapSetPassword          => 1,
    ldapChangePasswordAsUser => 1,
    ldapPwdEnc               => 'utf-8',
    managerDn                => $MANAGER,
    managerPassword          => 'service-secret',
    ldapBase                 => 'dc=soctrang,dc=gov,dc=vn',
    ldapServer               => 'ldaps://ldap1.soctrang.gov.vn',
    customPluginsParams      => { soctrangPasswordReasons => $TABLE },
);
my $portal = Test::Portal->new;
my $conf   = {%conf};

# ------------------------------------------------------------------ Password
my $password = Soctrang::SSO::Password->new( { p => $portal, conf => $conf } );
$password->requireOldPwdRule( sub { 1 } );

isa_ok( $password->ldap, 'Soctrang::SSO::LDAP', 'the connection newLdap builds' );
ok( ( grep { $_->[0] eq 'bind' and $_->[1] eq $MANAGER } @asked ),
    'newLdap tested it with the service account' );

sub change {
    my (%case) = @_;
    @asked   = ();
    @answers = @{ $case{slapd} };
    my $req = Test::Request->new(
        data => { ( $case{no_dn} ? () : ( dn => $DN ) ), oldpassword => 'Khoi-Tao#2026' } );
    my $code = $password->modifyPassword( $req, $case{new} );
    return ( $code, $req );
}

subtest 'must change, ppm refuses: the reason names the missing classes' => sub {
    my ( $code, $req ) = change(
        new   => 'abcdefgh1',
        slapd => [
            answer( 0, '', 2 ),    # the bind as the user: changeAfterReset
            answer( 19, qq{Password for dn="$DN" does not pass required number of strength checks (2 of 4)}, 5 ),
        ],
    );
    is( $code, PE_PP_INSUFFICIENT_PASSWORD_QUALITY, 'LemonLDAP::NG still says 28' );
    is( $req->data->{soctrang_reason}, "$texts->{missing_upper} $texts->{missing_special}", 'the reason' );
    is_deeply(
        [ map { [ @$_[ 0, 1 ] ] } @asked ],
        [ [ bind => $MANAGER ], [ bind => $DN ], [ set_password => $DN ] ],
        'Password/LDAP.pm binds as the service account, then as the user, then the exop; no rebind after a refusal'
    );
    is( $asked[1][2], 'Khoi-Tao#2026', 'the user bind with the current password' );
    is_deeply( [ @{ $asked[2] }[ 2, 3 ] ], [ 'Khoi-Tao#2026', 'abcdefgh1' ], 'the exop with the old and the new password' );
    is_deeply(
        $password->ldap->soctrang_last_answer,
        {
            stage      => 'change',
            result     => 19,
            ppolicy    => 'insufficientPasswordQuality',
            diagnostic => qq{Password for dn="$DN" does not pass required number of strength checks (2 of 4)}
        },
        'the record'
    );
    like( ( $portal->logger->said('notice') )[-1], qr/refused at change: result 19, ppolicy insufficientPasswordQuality/,
        'logged without the password' );
    unlike( join( "\n", map { $_->[1] } @{ $portal->logger->{lines} } ), qr/abcdefgh1|Khoi-Tao/, 'no password logged' );
};

subtest 'the own name (checkAttributes)' => sub {
    my ( $code, $req ) = change(
        new   => 'Nguyen@2026x',
        slapd => [ answer( 0, '', 2 ), answer( 19, qq{Password for dn="$DN" is too simple: it contains part of an attribute}, 5 ) ],
    );
    is( $req->data->{soctrang_reason}, $texts->{personal_info} );
};

subtest 'too short and in history: ppolicy errors 6 and 8' => sub {
    my ( $code, $req ) = change( new => 'Ab1!xy', slapd => [ answer( 0, '', 2 ), answer( 19, 'Password fails quality checking policy', 6 ) ] );
    is( $code, PE_PP_PASSWORD_TOO_SHORT );
    is( $req->data->{soctrang_reason}, $texts->{too_short} );
    ( $code, $req ) = change( new => 'Cu#2025abc', slapd => [ answer( 0, '', undef ), answer( 19, 'Password is in history of old passwords', 8 ) ] );
    is( $code, PE_PP_PASSWORD_IN_HISTORY );
    is( $req->data->{soctrang_reason}, $texts->{in_history} );
};

subtest 'wrong current password: at the exop (53) and at the bind (49)' => sub {
    my ( $code, $req ) = change(
        new   => 'Khanh-Hoa#2028q',
        slapd => [ answer( 0, '', undef ), answer( 53, 'Must supply correct old password to change to new one', 4 ) ],
    );
    is( $code, PE_BADOLDPASSWORD );
    is( $req->data->{soctrang_reason}, $texts->{old_password_wrong} );
    ( $code, $req ) = change( new => 'Khanh-Hoa#2028q', slapd => [ answer( 49, '', undef ) ] );
    is( $code, PE_BADOLDPASSWORD );
    is( $req->data->{soctrang_reason}, $texts->{old_password_wrong}, 'the bind is recorded' );
    is_deeply( [ map { $_->[0] } @asked ], [qw(bind bind)], 'no exop after a refused bind' );
};

subtest 'accepted: no reason, and the manager bind after it is not recorded' => sub {
    my ( $code, $req ) = change( new => 'Khanh-Hoa#2028q', slapd => [ answer( 0, '', 2 ), answer( 0, '', undef ) ] );
    is( $code, PE_PASSWORD_OK );
    ok( !exists $req->data->{soctrang_reason} );
    is( $asked[-1][1], $MANAGER, 'rebound as the service account' );
    is( $password->ldap->soctrang_last_answer->{stage}, 'change', 'the record is still the exop' );
};

subtest 'nothing decided by slapd: no reason' => sub {
    my ( $code, $req ) = do {
        local $SIG{__WARN__} = sub { };    # Password/LDAP.pm logs the missing DN
        change( new => 'x', no_dn => 1, slapd => [] );
    };
    is( $code, PE_ERROR, 'no DN' );
    ok( !exists $req->data->{soctrang_reason}, 'the previous answer is not reused' );
    ( $code, $req ) = change( new => 'Khanh-Hoa#2028q', slapd => [ answer( 0, '', 2 ), answer( 81, "Connection reset by peer" ) ] );
    is( $code, PE_LDAPERROR );
    ok( !exists $req->data->{soctrang_reason}, 'server down' );
};

# ------------------------------------------------------------------ Portal
my $dir      = tempdir( CLEANUP => 1 );
my $refusals = "$dir/refusals.json";
{
    open my $fh, '>:raw', $refusals or die $!;
    print {$fh} encode( 'UTF-8', '{"disabled": "Hộp thư đã bị tạm ngưng.", "retired": "Hộp thư đã ngừng sử dụng."}' );
}
my $mailbox_state;    # what the directory holds for the login, or undef: no entry
my @searches;
{
    package Test::Entry;
    sub get_value { $_[0]{state} }
    package Test::Result;
    sub code  { 0 }
    sub count { defined $_[0]{state} ? 1 : 0 }
    sub entry { bless { state => $_[0]{state} }, 'Test::Entry' }
    package Test::Connection;
    sub search { shift; push @searches, {@_}; bless { state => $mailbox_state }, 'Test::Result' }
    package Test::UserDB;
    sub ldap { bless {}, 'Test::Connection' }
    sub bind { 1 }
}
$portal->{userdb} = bless {}, 'Test::UserDB';
# conf and p are weak references (Common/Module.pm): the portal holds them.
my $plugin_conf = { %conf, customPluginsParams => { soctrangRefusals => $refusals } };
my $plugin = Soctrang::SSO::Portal->new( { p => $portal, conf => $plugin_conf } );
ok( $plugin->init, 'init' );

subtest 'the entry points Main/Init.pm finds' => sub {
    is( Soctrang::SSO::Portal->hook->{sendHtml}, 'showReason' );
    is_deeply( Soctrang::SSO::Portal->aroundSub,
        { getUser => 'explainRefusal', storeHistory => 'countCredentialFailuresOnly' } );
    ok( $plugin->can($_), $_ ) for qw(showReason explainRefusal countCredentialFailuresOnly);
};

subtest 'sendHtml: the reason in the error box' => sub {
    my $req = Test::Request->new;
    $req->data->{soctrang_reason} = 'Mật khẩu <mới> & "cũ"';
    my $trover = encode( 'UTF-8', JSON::PP->new->encode( { all => {}, vi => { PE5 => 'Sai mật khẩu' } } ) );
    my $template = 'login';
    my %args = ( params => { AUTH_ERROR => 28, TROVER => $trover } );
    is( $plugin->showReason( $req, \$template, \%args ), PE_OK );
    is( $args{params}{AUTH_ERROR}, 'soctrang', 'the box shows PEsoctrang' );
    unlike( $args{params}{TROVER}, qr/[^\x00-\x7f]/, 'TROVER in ASCII' );
    my $read = JSON::PP->new->decode( $args{params}{TROVER} );
    is( $read->{all}{PEsoctrang}, 'Mật khẩu &lt;mới&gt; &amp; &quot;cũ&quot;', 'escaped for .html()' );
    is( $read->{vi}{PE5}, 'Sai mật khẩu', 'the ini overrides kept' );

    my %quiet = ( params => { AUTH_ERROR => 28, TROVER => $trover } );
    $plugin->showReason( Test::Request->new, \$template, \%quiet );
    is_deeply( \%quiet, { params => { AUTH_ERROR => 28, TROVER => $trover } }, 'no reason: nothing changes' );
};

subtest 'storeHistory: only wrong credentials are failed logins' => sub {
    for my $case (
        [ PE_BADCREDENTIALS, 1 ], [ PE_BADOLDPASSWORD, 1 ], [ PE_PP_ACCOUNT_LOCKED, 1 ], [ PE_OK, 1 ],
        [ PE_PP_CHANGE_AFTER_RESET, 0 ], [ PE_PP_INSUFFICIENT_PASSWORD_QUALITY, 0 ], [ PE_PP_PASSWORD_TOO_SHORT, 0 ],
        [ PE_PP_PASSWORD_IN_HISTORY, 0 ], [ PE_PASSWORD_MISMATCH, 0 ], [ PE_PASSWORD_OK, 0 ],
      )
    {
        my ( $result, $recorded ) = @$case;
        my $called = 0;
        my $code = $plugin->countCredentialFailuresOnly( sub { $called++; PE_OK }, Test::Request->new( authResult => $result ) );
        is( $code,   PE_OK,     "result $result: PE_OK" );
        is( $called, $recorded, "result $result: " . ( $recorded ? 'recorded' : 'not recorded' ) );
    }
};

subtest 'getUser: disabled and retired mailboxes are told why' => sub {
    for my $case ( [ disabled => 'Hộp thư đã bị tạm ngưng.' ], [ retired => 'Hộp thư đã ngừng sử dụng.' ], [ active => undef ], [ undef, undef ] ) {
        ( $mailbox_state, my $text ) = @$case;
        @searches = ();
        my $req  = Test::Request->new( user => 'dcnguyen' );
        my $code = $plugin->explainRefusal( sub { PE_BADCREDENTIALS }, $req );
        is( $code, PE_BADCREDENTIALS, 'the code stays' );
        is( $req->data->{soctrang_reason}, $text, 'state ' . ( $mailbox_state // 'none' ) );
    }
    is( $searches[0]{filter}, '(&(objectClass=socMailbox)(|(mail=dcnguyen)(uid=dcnguyen)))' );

    @searches = ();
    $plugin->explainRefusal( sub { PE_BADCREDENTIALS }, Test::Request->new( user => 'a*b)(uid=*' ) );
    is( $searches[0]{filter}, '(&(objectClass=socMailbox)(|(mail=a\2ab\29\28uid=\2a)(uid=a\2ab\29\28uid=\2a)))', 'escaped' );

    @searches = ();
    my $req = Test::Request->new( user => 'dcnguyen' );
    is( $plugin->explainRefusal( sub { PE_OK }, $req ), PE_OK );
    is( scalar @searches, 0, 'found: no second search' );
};

done_testing();
